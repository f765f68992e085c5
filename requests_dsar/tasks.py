"""Celery tasks for requests: thin, by id, idempotent. The row is the truth; the broker wakes."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import representatives

# A lost database, broker or mail connection: retried with backoff. Not IntegrityError and the
# like, which a retry cannot fix.
RETRYABLE = (OperationalError, InterfaceError, OSError)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def process_request(request_id: int) -> None:
    from .services import dsar_process

    dsar_process(request_id=request_id)


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=10)
def notify_requester(request_id: int, event: str) -> None:
    from .notifications import notify_requester as send

    # Someone acting for the person (a relative of a deceased user) is told instead, by the
    # app that knows them (representatives.py).
    if representatives.tell_representative(request_id=request_id, event=event):
        return
    send(request_id=request_id, event=event)


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=10)
def send_verification_code(request_id: int, code: str) -> None:
    from .notifications import send_verification_code as send

    send(request_id=request_id, code=code)


@shared_task(acks_late=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def sweep_requests() -> None:
    """Periodic: re-enqueue stalled work, end cool-offs, warn staff of deadlines, flag overdue."""
    from .sweeps import sweep

    sweep()
