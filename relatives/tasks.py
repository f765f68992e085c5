"""Celery tasks for relatives' cases: thin, by id, idempotent."""

from __future__ import annotations

from core.tasks import mail_task

from . import mail


@mail_task()
def send_relative_code(case_id: int, code: str = "") -> None:
    """E-mail the case's current code, read from the database (a message queued by an earlier
    version still carries one as `code`: it is ignored)."""
    mail.send_code(case_id=case_id)


@mail_task()
def notify_relative(case_id: int, kind: str) -> None:
    """E-mail a relative about their case (relatives/mail.py)."""
    mail.notify_relative(case_id=case_id, kind=kind)
