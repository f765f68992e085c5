"""Show, per retention category, what the next sweep would remove. Changes nothing."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, OutputWrapper
from django.utils import timezone

from retention.sweep import ReportLine, retention_report


def write_report(out: OutputWrapper, lines: Sequence[ReportLine]) -> None:
    """The report as a table: period in force, cutoff, rows due and rows held, per category."""
    out.write(
        f"{'category':<26} {'period':>12}  {'cutoff (UTC)':<17} {'would remove':>12} "
        f"{'held back':>10}"
    )
    for line in lines:
        period = f"{line.period.days} days" + ("*" if line.period.overridden else " ")
        cutoff = line.cutoff.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")
        out.write(
            f"{line.rule.key:<26} {period:>12}  {cutoff:<17} {line.due:>12,} {line.held:>10,}"
        )
    for line in lines:
        override = line.period.override
        if override is not None:
            by = f"user #{override.set_by_id}" if override.set_by_id else "a former staff member"
            out.write(
                f"* {line.rule.key}: overridden in admin by {by} (settings say "
                f"{line.period.configured_days} days): {override.reason}"
            )


class Command(BaseCommand):
    help = (
        "Show, per retention category, the period in force, the cutoff, and how many rows the "
        "next sweep would remove or legal holds keep. Changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        self.stdout.write(f"Retention report at {now:%Y-%m-%d %H:%M} UTC (nothing is changed).")
        write_report(self.stdout, retention_report(now=now))
