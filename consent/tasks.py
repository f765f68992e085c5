"""Celery tasks for consent: thin, by id, idempotent. The database rows are the truth."""

from __future__ import annotations

import time

from celery import shared_task
from django.db import InterfaceError, OperationalError

# A lost database, broker or mail connection (smtplib's errors are OSErrors): retried with
# backoff. Not IntegrityError and the like, which a retry cannot fix.
RETRYABLE = (OperationalError, InterfaceError, OSError)
# A fan-out task hands over to a fresh one after this long, well inside its time limit.
NOTIFY_SLICE_SECONDS = 240


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
    soft_time_limit=NOTIFY_SLICE_SECONDS + 240,
    time_limit=NOTIFY_SLICE_SECONDS + 300,
)
def notify_policy_published(version_id: int) -> None:
    """E-mail every user about a published material version, batch by batch (resumable)."""
    from .policy_notices import policy_notify_step

    started = time.monotonic()
    while policy_notify_step(version_id=version_id):
        if time.monotonic() - started > NOTIFY_SLICE_SECONDS:
            notify_policy_published.delay(version_id)
            return


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def sweep_policy_notices() -> None:
    """Periodic: restart the fan-out of recent material versions whose task was lost."""
    from .policy_notices import versions_with_stalled_notices

    for version_id in versions_with_stalled_notices():
        notify_policy_published.delay(version_id)
