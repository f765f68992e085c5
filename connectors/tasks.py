"""Celery tasks for connected systems: thin, by id, idempotent. The row is the truth."""

from __future__ import annotations

from core.tasks import DATABASE_ERRORS, durable_task, periodic_task

# A lost portal database or broker: retried with backoff. A system's own failures are not
# exceptions here: the service records them on the job and schedules its retry.
RETRYABLE = DATABASE_ERRORS
# Longer than the longest HTTP timeout a system may have (CONNECTOR_MAX_TIMEOUT_SECONDS) plus a
# database connector's statement timeout.
TIME_LIMIT = 300


@durable_task(retry_on=RETRYABLE, time_limit=TIME_LIMIT, soft_time_limit=TIME_LIMIT - 30)
def dispatch_job(job_id: str) -> None:
    from .services import dispatch

    dispatch(job_id=job_id)


@periodic_task(retry_on=RETRYABLE)
def sweep_jobs() -> None:
    """Periodic: send due jobs, re-queue stalled claims and jobs whose callback never came."""
    from .services import sweep

    sweep()
