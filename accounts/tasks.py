"""Celery tasks for accounts: thin, idempotent, by id."""

from __future__ import annotations

import smtplib

from celery import shared_task

from . import services


@shared_task(
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    time_limit=60,
    soft_time_limit=45,
)
def notify_new_sign_in(login_event_id: int) -> None:
    services.login_notify_if_new_device(login_event_id=login_event_id)
