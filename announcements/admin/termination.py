"""The admin of the end of the service: read-only, it is run by `manage.py terminate_service`."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin_tools import ReadOnlyAdmin

from ..models import ServiceTermination

TERMINATION_FIELDS = (
    "ends_on",
    "reason",
    "announced_by",
    "announced_at",
    "cancelled_at",
    "broadcast",
    "last_report_at",
    "report",
    "executed_at",
)


@admin.register(ServiceTermination)
class ServiceTerminationAdmin(ReadOnlyAdmin):
    list_display = ["ends_on", "announced_at", "cancelled_at", "last_report_at", "executed_at"]
    fields = TERMINATION_FIELDS
    readonly_fields = TERMINATION_FIELDS

    @admin.display(description="Last dry run")
    def report(self, obj: ServiceTermination) -> str:
        entries = (obj.last_report or {}).get("entries") or []
        if not entries:
            return "None yet: run `manage.py terminate_service report`."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e["model"], e["category"], e["strategy"], e["rows"]) for e in entries),
        )
        held = (obj.last_report or {}).get("held_users") or []
        return format_html(
            '<table><thead><tr><th scope="col">Model</th><th scope="col">Category</th>'
            '<th scope="col">Strategy</th><th scope="col">Rows</th></tr></thead>'
            "<tbody>{}</tbody></table><p>Users under a legal hold, skipped: {}</p>",
            rows,
            len(held),
        )
