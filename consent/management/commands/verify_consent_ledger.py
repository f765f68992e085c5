"""Recompute every subject's consent chain and report broken links."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from consent.ledger import verify_ledger


class Command(BaseCommand):
    help = "Verify the hash chains of the consent ledger."

    def handle(self, *args: object, **options: object) -> None:
        report = verify_ledger()
        if not report.ok:
            for subject_key, seq, problem in report.broken:
                self.stderr.write(f"chain {subject_key}: event #{seq}: {problem}")
            raise CommandError(f"{len(report.broken)} broken chain(s).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Consent ledger intact: {report.events} events in {report.subjects} chains."
            )
        )
