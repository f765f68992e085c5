"""How the product's Celery tasks run: one place for their delivery and retry rules.

Every task is thin, takes ids, and re-reads its rows (the database is the truth), so running
one twice is safe; what differs between tasks is only what a second run would cost.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

# A lost database connection: worth a retry. Not IntegrityError and the like, which no retry
# can fix.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
# ... or a lost broker or mail connection (smtplib's and socket errors are OSErrors).
RETRYABLE: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, OSError)


def durable_task(*, retry_on: tuple[type[BaseException], ...] = RETRYABLE, **options: Any) -> Any:
    """A task whose work must happen: acknowledged once it has run, so a task whose worker
    died runs again on another, and retried with backoff (up to ten minutes apart) while a
    transient error lasts. `options` are Celery's, overriding these."""
    return shared_task(
        **{
            "acks_late": True,
            "reject_on_worker_lost": True,
            "autoretry_for": retry_on,
            "retry_backoff": True,
            "retry_backoff_max": 600,
            "max_retries": 10,
            **options,
        }
    )


def mail_task(**options: Any) -> Any:
    """A task that sends one e-mail: retried like any durable task, but not run again when
    its worker dies mid-task (the mail may already be out), and the row it marks sent is
    what the sweeps read."""
    return durable_task(**{"reject_on_worker_lost": False, **options})


def periodic_task(**options: Any) -> Any:
    """A periodic sweep: idempotent, and its next run does what a lost one left, so a few
    retries are enough."""
    return durable_task(**{"reject_on_worker_lost": False, "max_retries": 3, **options})
