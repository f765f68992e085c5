"""Connectors' part of the record of processing: the company's other systems that hold personal
data and take part in requests (core/processing_record.py)."""

from __future__ import annotations

from core.processing_record import Section, register_section

from .models import ConnectedSystem, Kind


def _system_rows() -> list[list[str]]:
    return [
        [
            system.name,
            system.owner_team,
            str(Kind(system.kind).label),
            ", ".join(system.categories) or "—",
            ", ".join(system.request_types) or "—",
            "enabled" if system.enabled else "switched off",
        ]
        for system in ConnectedSystem.objects.order_by("name")
    ]


def register() -> None:
    register_section(
        Section(
            key="systems",
            title="Systems holding personal data",
            columns=("System", "Owner", "How requests reach it", "Data", "Requests", "Status"),
            rows=_system_rows,
            order=40,
        )
    )
