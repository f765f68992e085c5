"""Celery tasks for requests: thin, by id, idempotent. The row is the truth; the broker wakes."""

from __future__ import annotations

from core.tasks import durable_task, mail_task, periodic_task

from . import representatives


@durable_task()
def process_request(request_id: int) -> None:
    from .services import dsar_process

    dsar_process(request_id=request_id)


@mail_task()
def notify_requester(request_id: int, event: str) -> None:
    from .notifications import notify_requester as send

    # Someone acting for the person (a relative of a deceased user) is told instead, by the
    # app that knows them (representatives.py).
    if representatives.tell_representative(request_id=request_id, event=event):
        return
    send(request_id=request_id, event=event)


@mail_task()
def send_verification_code(request_id: int, code: str = "") -> None:
    """E-mail the request's current code, read from the database (a message queued by an
    earlier version still carries one as `code`: it is ignored)."""
    from .notifications import send_verification_code as send

    send(request_id=request_id)


@periodic_task()
def sweep_requests() -> None:
    """Periodic: re-enqueue stalled work, end cool-offs, warn staff of deadlines, flag overdue."""
    from .sweeps import sweep

    sweep()
