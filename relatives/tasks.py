"""Celery tasks for relatives' cases: thin, by id, idempotent."""

from __future__ import annotations

from core.tasks import mail_task

from . import mail


@mail_task()
def send_relative_code(case_id: int, code: str) -> None:
    mail.send_code(case_id=case_id, code=code)


@mail_task()
def notify_relative(case_id: int, kind: str) -> None:
    """E-mail a relative about their case (relatives/mail.py)."""
    mail.notify_relative(case_id=case_id, kind=kind)
