"""Run the retention sweep now (the nightly task does the same), or only report it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.retention import rules
from retention.sweep import retention_report, retention_sweep

from .retention_report import write_report


class Command(BaseCommand):
    help = (
        "Delete or anonymize what outlived its retention period, skipping legal holds, in "
        "bounded batches; writes a summary to the audit log. --dry-run only reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would be removed (as retention_report) and change nothing.",
        )
        parser.add_argument(
            "--category",
            action="append",
            dest="categories",
            metavar="KEY",
            help="Sweep only this category (repeatable). Default: every category.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            help="Rows per batch (per transaction) instead of each category's own.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        known = {rule.key for rule in rules()}
        categories = options["categories"]
        unknown = sorted(set(categories or ()) - known)
        if unknown:
            raise CommandError(
                f"Unknown categories: {', '.join(unknown)}. Known: {', '.join(sorted(known))}."
            )
        batch_size = options["batch_size"]
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = timezone.now()
        if options["dry_run"]:
            lines = [
                line
                for line in retention_report(now=now)
                if categories is None or line.rule.key in categories
            ]
            self.stdout.write(f"Dry run at {now:%Y-%m-%d %H:%M} UTC: nothing is changed.")
            write_report(self.stdout, lines)
            return
        result = retention_sweep(now=now, categories=categories, batch_size=batch_size)
        self.stdout.write(f"{'category':<26} {'removed':>12} {'held back':>10}")
        for key, line in result.categories.items():
            self.stdout.write(f"{key:<26} {line.removed:>12,} {line.held:>10,}")
        if result.complete:
            self.stdout.write(self.style.SUCCESS("Retention sweep done; summary in the audit log."))
        else:
            self.stdout.write(self.style.WARNING("Stopped early; run it again to finish."))
