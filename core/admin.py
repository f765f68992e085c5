"""The audit log's page in the admin: read it here, verify it with `manage.py verify_audit_log`."""

from __future__ import annotations

from django.contrib import admin

from .admin_tools import ReadOnlyAdmin
from .models import AuditLogEntry


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    """The append-only log: read it here, verify it with `manage.py verify_audit_log`."""

    list_display = ["id", "at", "action", "actor_role", "actor_user_id", "target_type", "target_id"]
    list_filter = ["action", "actor_role", "target_type"]
    search_fields = ["=target_id", "=actor_user_id"]
    ordering = ["-pk"]
    show_full_result_count = False
    actions = None
