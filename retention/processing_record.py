"""Retention's part of the record of processing: how long each kind of record is kept (the
period in force, an override's reason included), and how many legal holds are in force
(core/processing_record.py)."""

from __future__ import annotations

from core.processing_record import Section, register_section
from core.retention import rules

from .models import LegalHold
from .sweep import overrides_in_force, period_for


def _period_rows() -> list[list[str]]:
    overrides = overrides_in_force()
    rows = []
    for rule in rules():
        period = period_for(rule, overrides)
        why = f"override: {period.override.reason}" if period.override is not None else "setting"
        rows.append([rule.label, rule.removes, f"{period.days} days", why, rule.keeps or "—"])
    return rows


def _hold_rows() -> list[list[str]]:
    return [["Legal holds in force", str(LegalHold.objects.active().count())]]


def register() -> None:
    register_section(
        Section(
            key="retention",
            title="Retention periods",
            columns=("Records", "Removed", "After", "Set by", "Kept"),
            rows=_period_rows,
            order=50,
        )
    )
    register_section(
        Section(
            key="holds",
            title="Legal holds",
            columns=("What", "How many"),
            rows=_hold_rows,
            order=60,
            note="A hold stops the erasure and the retention sweep for the data it names.",
        )
    )
