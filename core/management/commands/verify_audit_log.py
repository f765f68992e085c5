"""Recompute the audit log's hash chain; exit non-zero at the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain from the first entry to the last."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        self.stdout.write(f"{report.checked} entries checked.")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("The audit log is intact."))
            return
        where = (
            f"entry {report.first_broken_id}"
            if report.first_broken_id is not None
            else "the end of the chain"
        )
        raise CommandError(f"The audit log is broken at {where}: {report.problem}.", returncode=2)
