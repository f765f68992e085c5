"""Celery tasks for relatives' cases: thin, by id, idempotent."""

from __future__ import annotations

from celery import shared_task

from requests_dsar.tasks import RETRYABLE

from . import mail


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=10)
def send_relative_code(case_id: int, code: str) -> None:
    mail.send_code(case_id=case_id, code=code)


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=10)
def notify_relative(case_id: int, kind: str) -> None:
    """E-mail a relative about their case (relatives/mail.py)."""
    mail.notify_relative(case_id=case_id, kind=kind)
