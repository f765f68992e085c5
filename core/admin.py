"""The audit log's page in the admin: read it here, verify it with `manage.py verify_audit_log`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .admin_tools import ReadOnlyAdmin
from .audit import action_label, target_labels
from .models import AuditLogEntry


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    """The append-only log: read it here, verify it with `manage.py verify_audit_log`."""

    list_display = ["id", "at", "what", "actor_role", "actor_user_id", "target"]
    list_filter = ["action", "actor_role", "target_type"]
    search_fields = ["=target_id", "=actor_user_id"]
    ordering = ["-pk"]
    show_full_result_count = False
    actions = None

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # The page's targets in words, in one query per kind of target.
            entries = list(changelist.result_list)
            labels = target_labels(entries)
            for entry in entries:
                entry.target_label = labels.get((entry.target_type, str(entry.target_id)))
        return response

    @admin.display(description="what", ordering="action")
    def what(self, entry: AuditLogEntry) -> str:
        return action_label(entry.action)

    @admin.display(description="about")
    def target(self, entry: AuditLogEntry) -> str:
        label = getattr(entry, "target_label", None)
        return label or f"{entry.target_type} {entry.target_id}".strip()
