"""Celery tasks for accounts: thin, idempotent, by id."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

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


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
    time_limit=600,
    soft_time_limit=540,
)
def end_guardianships_at_majority() -> None:
    """Daily: end the guardianship of every minor who reached the age. Idempotent."""
    from .guardian_lifecycle import guardianships_end_due

    guardianships_end_due()


# --- Guardian consent before use (accounts.guardianship) -----------------------------------------
# Mail is retried on SMTP and connection errors; a redelivered mail task may send twice (a
# duplicate beats silence), every other step re-checks its row first.
MAIL_RETRY = (smtplib.SMTPException, OSError, OperationalError, InterfaceError)
MAIL_TASK: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": MAIL_RETRY,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
    "time_limit": 60,
    "soft_time_limit": 45,
}


@shared_task(**MAIL_TASK)
def send_guardian_email(guardianship_id: int, kind: str) -> None:
    from .guardianship import guardian_email_send

    guardian_email_send(guardianship_id=guardianship_id, kind=kind)


@shared_task(**MAIL_TASK)
def send_guardian_second_confirmation(guardianship_id: int) -> None:
    from .guardianship import guardian_second_confirmation_send

    guardian_second_confirmation_send(guardianship_id=guardianship_id)


@shared_task(**MAIL_TASK)
def send_minor_email(minor_account_id: int, kind: str) -> None:
    from .guardianship import minor_email_send

    minor_email_send(minor_account_id=minor_account_id, kind=kind)


@shared_task(**{**MAIL_TASK, "time_limit": 120, "soft_time_limit": 100})
def notify_minor_erasure(minor_account_id: int, reason: str) -> None:
    """Tell the minor their account is erased and why, then queue the erasure."""
    from .guardianship import minor_erasure_notify

    minor_erasure_notify(minor_account_id=minor_account_id, reason=reason)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
    time_limit=600,
    soft_time_limit=540,
)
def sweep_minor_accounts() -> None:
    """Periodic: erase minors' accounts no guardian approved in time; send due second
    confirmations. Idempotent."""
    from .guardianship import minor_accounts_sweep

    minor_accounts_sweep()
