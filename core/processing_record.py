"""The record of processing activities (GDPR Art. 30), generated from what the code knows.

Nothing in it is typed by hand except the security measures (a setting): each app contributes
the sections it knows by registering them from its AppConfig.ready() — the ground floor its
personal-data registry, consent its purposes and third parties, connectors the company's other
systems, retention the periods in force and the legal holds. The admin shows the record as a
page, a printable page and a CSV (config/admin.py); a test fails when a registry category, a
purpose or a third party is missing from it, so it cannot drift from the code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings

from .registry import registry


@dataclass(frozen=True)
class Section:
    """One table of the record: its heading, its columns, and a function giving its rows."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[], Sequence[Sequence[str]]]
    order: int = 100
    note: str = ""


_sections: dict[str, Section] = {}


def register_section(section: Section) -> None:
    _sections[section.key] = section


@dataclass(frozen=True)
class Table:
    section: Section
    rows: list[list[str]]


def record() -> list[Table]:
    """Every section, in order, with its rows as they are now."""
    return [
        Table(section, [[str(cell) for cell in row] for row in section.rows()])
        for section in sorted(_sections.values(), key=lambda s: (s.order, s.key))
    ]


def controller() -> list[tuple[str, str]]:
    """Who is responsible, as the record's head names them."""
    return [
        ("Controller", settings.COMPANY_NAME),
        ("Contact", settings.COMPANY_CONTACT_EMAIL),
        ("Privacy portal", settings.PORTAL_URL),
    ]


def as_csv() -> str:
    """The whole record as one CSV: a section column, then each section's own columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "column 1", "column 2", "column 3", "column 4", "column 5", "…"])
    for name, value in controller():
        writer.writerow(["Controller", name, value])
    for table in record():
        writer.writerow([table.section.title, *table.section.columns])
        for row in table.rows:
            writer.writerow([table.section.title, *row])
    return out.getvalue()


# --- The ground floor's own sections -----------------------------------------------------------


ON_ERASURE = {"delete": "deleted", "anonymize": "anonymized", "retain": "kept"}


def _periods(entry_retention: object) -> str:
    period = getattr(entry_retention, "period", None)
    if period is None:
        return "as long as the basis lasts"
    return f"{period.days} days"


def _data_rows() -> list[list[str]]:
    rows = []
    for entry in sorted(registry, key=lambda e: (e.category, e.model_label)):
        kept = entry.retention
        rows.append(
            [
                entry.label,
                str(entry.model._meta.verbose_name_plural).capitalize(),
                entry.category,
                ", ".join(entry.fields.values()) or "(no exported fields)",
                ON_ERASURE[entry.strategy],
                f"{kept.legal_basis} ({_periods(kept)})" if kept is not None else "",
            ]
        )
    return rows


def _security_rows() -> list[list[str]]:
    return [[line] for line in settings.RECORD_SECURITY_MEASURES]


register_section(
    Section(
        key="data",
        title="Categories of personal data",
        columns=(
            "Data",
            "Held as",
            "Category",
            "Fields",
            "On erasure",
            "Kept after erasure (basis, period)",
        ),
        rows=_data_rows,
        order=10,
        note="From the personal-data registry: every model that holds someone's data.",
    )
)
register_section(
    Section(
        key="security",
        title="Technical and organisational security measures",
        columns=("Measure",),
        rows=_security_rows,
        order=90,
        note="RECORD_SECURITY_MEASURES (the one part of the record written by hand).",
    )
)
