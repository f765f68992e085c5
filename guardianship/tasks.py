"""Celery tasks of the guardian consent flow: thin, idempotent, by id.

Mail is retried on SMTP and connection errors; a redelivered mail task may send twice (a
duplicate beats silence), every other step re-checks its row first. The flow's modules queue
these tasks, so each task imports the step it runs when it runs.
"""

from __future__ import annotations

from typing import Any

from core.tasks import DATABASE_ERRORS, mail_task, periodic_task


@periodic_task(retry_on=DATABASE_ERRORS, time_limit=600, soft_time_limit=540)
def end_guardianships_at_majority() -> None:
    """Daily: end the guardianship of every minor who reached the age. Idempotent."""
    from .lifecycle import guardianships_end_due

    guardianships_end_due()


MAIL_TASK: dict[str, Any] = {"max_retries": 8, "time_limit": 60, "soft_time_limit": 45}


@mail_task(**MAIL_TASK)
def send_guardian_email(guardianship_id: int, kind: str) -> None:
    from .flow import guardian_email_send

    guardian_email_send(guardianship_id=guardianship_id, kind=kind)


@mail_task(**MAIL_TASK)
def send_guardian_second_confirmation(guardianship_id: int) -> None:
    from .flow import guardian_second_confirmation_send

    guardian_second_confirmation_send(guardianship_id=guardianship_id)


@mail_task(**MAIL_TASK)
def send_minor_email(minor_account_id: int, kind: str) -> None:
    from .flow import minor_email_send

    minor_email_send(minor_account_id=minor_account_id, kind=kind)


@mail_task(**{**MAIL_TASK, "time_limit": 120, "soft_time_limit": 100})
def notify_minor_erasure(minor_account_id: int, reason: str) -> None:
    """Tell the minor their account is erased and why, then queue the erasure."""
    from .flow import minor_erasure_notify

    minor_erasure_notify(minor_account_id=minor_account_id, reason=reason)


@periodic_task(retry_on=DATABASE_ERRORS, time_limit=600, soft_time_limit=540)
def sweep_minor_accounts() -> None:
    """Periodic: erase minors' accounts no guardian approved in time; send due second
    confirmations. Idempotent."""
    from .flow import minor_accounts_sweep

    minor_accounts_sweep()
