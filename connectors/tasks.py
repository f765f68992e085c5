"""Celery tasks for connected systems: thin, by id, idempotent. The row is the truth."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

# A lost portal database or broker: retried with backoff. A system's own failures are not
# exceptions here: the service records them on the job and schedules its retry.
RETRYABLE = (OperationalError, InterfaceError)
# Longer than the longest HTTP timeout a system may have (CONNECTOR_MAX_TIMEOUT_SECONDS) plus a
# database connector's statement timeout.
TIME_LIMIT = 300


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
    time_limit=TIME_LIMIT,
    soft_time_limit=TIME_LIMIT - 30,
)
def dispatch_job(job_id: str) -> None:
    from .services import dispatch

    dispatch(job_id=job_id)


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def sweep_jobs() -> None:
    """Periodic: send due jobs, re-queue stalled claims and jobs whose callback never came."""
    from .services import sweep

    sweep()
