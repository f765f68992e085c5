"""Celery tasks for notices: thin, by id, idempotent. The database rows are the truth."""

from __future__ import annotations

import time

from core.tasks import RETRYABLE as TRANSIENT
from core.tasks import durable_task, mail_task, periodic_task

from .fanout import TransientSendError

# A lost database, broker or mail connection, or a mail server that could not take a message
# now: retried with backoff.
RETRYABLE = (*TRANSIENT, TransientSendError)
# A fan-out task hands over to a fresh one after this long, well inside its time limit.
SLICE_SECONDS = 240


@durable_task(retry_on=RETRYABLE)
def send_message_email(message_id: int) -> None:
    from .fanout import send_message_email as send

    send(message_id)


@durable_task(
    retry_on=RETRYABLE, soft_time_limit=SLICE_SECONDS + 240, time_limit=SLICE_SECONDS + 300
)
def fan_out_broadcast(broadcast_id: int) -> None:
    """Deliver a broadcast batch by batch (resumable, never twice to one user)."""
    from .fanout import broadcast_step

    started = time.monotonic()
    while broadcast_step(broadcast_id=broadcast_id):
        if time.monotonic() - started > SLICE_SECONDS:
            fan_out_broadcast.delay(broadcast_id)
            return


@periodic_task(retry_on=RETRYABLE)
def sweep_notices() -> None:
    """Periodic: restart broadcasts whose task was lost and send e-mails left pending."""
    from .fanout import broadcasts_stalled, single_emails_stalled

    for broadcast_id in broadcasts_stalled():
        fan_out_broadcast.delay(broadcast_id)
    for message_id in single_emails_stalled():
        send_message_email.delay(message_id)


@mail_task(retry_on=RETRYABLE, max_retries=8, time_limit=60, soft_time_limit=45)
def notify_new_sign_in(login_event_id: int) -> None:
    from .security import new_device_notify

    new_device_notify(login_event_id=login_event_id)
