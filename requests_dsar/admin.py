"""The staff request queue, worked by deadline.

Every field of a request is read-only here: a request changes only through the services, from
the buttons on its page (each a small form, a custom admin view, see admin_actions.py) or the
queue's bulk actions. Permissions are checked on every request, not only when drawing the
buttons. Pages showing a user's personal data are audited (AuditedViewMixin).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Mapping
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.models import User
from accounts.selectors import profile_for
from accounts.services import PROFILE_EDITABLE_FIELDS
from core.admin_tools import (
    AuditedViewMixin,
    ObjectAction,
    ObjectActionsMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    RecordAdminMixin,
)
from requests_dsar.models import (
    OPEN_STATUSES,
    AppliedCorrection,
    DataSubjectRequest,
    ErasureRecord,
    ExportArchive,
    RequestEvent,
    RequestMessage,
    RequestNote,
    Status,
)

from . import corrections, services
from .admin_actions import (
    APPROVE,
    STAFF_ACTIONS,
    WORK,
    ConfirmForm,
    StaffAction,
    due_badge,
    is_correction,
    reference,
)
from .workflow import TransitionNotAllowed

# --- Queue filters --------------------------------------------------------------------------


class DeadlineFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("overdue", "Overdue"),
            ("3", "Due within 3 days"),
            ("7", "Due within 7 days"),
            ("14", "Due within 14 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value is None:
            return None
        now = timezone.now()
        open_ones = queryset.filter(status__in=OPEN_STATUSES, due_at__isnull=False)
        if value == "overdue":
            return open_ones.filter(due_at__lt=now, paused_at__isnull=True)
        if value in {"3", "7", "14"}:
            limit = now + datetime.timedelta(days=int(value))
            return open_ones.filter(due_at__gte=now, due_at__lte=limit)
        return None


class WorkFilter(admin.SimpleListFilter):
    title = "needs"
    parameter_name = "needs"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("open", "Any open request"),
            ("approval", "Awaiting approval"),
            ("verification", "Identity to verify"),
            ("retry", "Failed: retry"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        statuses = {
            "open": OPEN_STATUSES,
            "approval": {Status.AWAITING_APPROVAL},
            "verification": {Status.IDENTITY_UNVERIFIED},
            "retry": {Status.FAILED},
        }.get(self.value() or "")
        return queryset.filter(status__in=statuses) if statuses else None


class AssigneeFilter(admin.SimpleListFilter):
    """ "My queue": the requests given to the signed-in staff member, or to nobody yet."""

    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Me (my queue)"), ("nobody", "Nobody yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return None


# --- Inlines ------------------------------------------------------------------------------


class RequestEventInline(ReadOnlyInline):
    model = RequestEvent
    fields = ("at", "actor_role", "actor", "from_status", "to_status", "reason")
    readonly_fields = fields
    verbose_name_plural = "history"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("actor")


class RequestMessageInline(ReadOnlyInline):
    model = RequestMessage
    fields = ("created_at", "from_staff", "author", "body")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("author")


class RequestNoteInline(ReadOnlyInline):
    """The team's internal notes (added with the "Add an internal note" button)."""

    model = RequestNote
    fields = ("created_at", "author", "body")
    readonly_fields = fields
    verbose_name_plural = "internal notes (never shown to the requester)"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(WORK))  # whoever works the queue reads the team's notes

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("author")


class AppliedCorrectionInline(ReadOnlyInline):
    model = AppliedCorrection
    fields = ("field", "before", "after", "applied_at", "applied_by")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("applied_by")


class ExportArchiveInline(ReadOnlyInline):
    """Metadata only: never the storage name, key or tokens."""

    model = ExportArchive
    fields = ("created_at", "expires_at", "size", "download_count", "pulled_at", "deleted_at")
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("requests_dsar.view_datasubjectrequest"))


# Inlines the apps above requests add to a request's page (a connected system's jobs), shown
# after the request's own and before its erasure record.
_added_inlines: list[type[admin.options.InlineModelAdmin[Any, Any]]] = []


def add_request_inline(inline: type[admin.options.InlineModelAdmin[Any, Any]]) -> None:
    if inline not in _added_inlines:
        _added_inlines.append(inline)


class ErasureRecordInline(RecordAdminMixin, admin.StackedInline):
    model = ErasureRecord
    can_delete = False
    fields = ("performed_at", "subject_hash", "summary", "systems")
    readonly_fields = fields


# --- The queue ------------------------------------------------------------------------------

# What the queue's CSV holds: nothing that names or reaches a person.
QUEUE_CSV_COLUMNS = ("reference", "type", "status", "received", "verified", "due", "completed")


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(RecordAdminMixin, ObjectActionsMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "type",
        "status",
        "subject_display",
        "received_at",
        "due",
        "assignee",
    ]
    list_display_links = ["reference"]
    list_filter = [DeadlineFilter, WorkFilter, AssigneeFilter, "type", "status"]
    list_select_related = ["subject"]
    search_fields = ["public_id", "subject__email"]
    # Most urgent first; requests whose clock has not started (unverified) last.
    ordering = [F("due_at").asc(nulls_last=True), "pk"]  # type: ignore[list-item]
    show_full_result_count = False
    actions = [
        "approve_selected",
        "retry_selected",
        "assign_to_me",
        "unassign_selected",
        "export_selected",
    ]
    action_template = "admin/requests_dsar/datasubjectrequest/staff_action.html"
    refusals = (TransitionNotAllowed,)
    inlines = [
        RequestEventInline,
        RequestMessageInline,
        RequestNoteInline,
        AppliedCorrectionInline,
        ExportArchiveInline,
    ]
    fieldsets = [
        (
            "Request",
            {
                "fields": [
                    "public_id",
                    "type",
                    "status",
                    "subject_link",
                    "requester_link",
                    "contact_email",
                    "jurisdiction",
                    "details",
                    "requested_changes",
                    "scope_summary",
                ]
            },
        ),
        (
            "Deadline",
            {
                "fields": [
                    "received_at",
                    "verified_at",
                    "verification_method",
                    "due",
                    "paused_at",
                    "extended_at",
                    "extension_reason",
                    "act_after",
                    "status_changed_at",
                    "completed_at",
                ]
            },
        ),
        (
            "Outcome",
            {
                "fields": [
                    "denial_reason",
                    "legal_exemption",
                    "denial_note",
                    "failure_message",
                    "attempts",
                    "subject_hash",
                ]
            },
        ),
    ]
    readonly_fields = [
        "subject_link",
        "requester_link",
        "requested_changes",
        "scope_summary",
        "due",
    ]

    class Media:
        css = {"all": ["admin/css/requests_dsar.css"]}

    # Requests arrive through the services and stay as proof; staff never edit their fields
    # (RecordAdminMixin).

    def get_inlines(
        self, request: HttpRequest, obj: Any
    ) -> list[type[admin.options.InlineModelAdmin[Any, Any]]]:
        # The erasure record only where something was erased: an empty block on a copy's page
        # would read as if it had been.
        # (The reverse one-to-one caches its answer, missing or not: one query per page.)
        erased = obj is not None and hasattr(obj, "erasure_record")
        return [*self.inlines, *_added_inlines, *([ErasureRecordInline] if erased else [])]

    def has_work_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(WORK))

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(APPROVE))

    # --- Columns and fields

    @admin.display(description="Reference", ordering="public_id")
    def reference(self, obj: DataSubjectRequest) -> str:
        return reference(obj)

    @admin.display(description="Subject")
    def subject_display(self, obj: DataSubjectRequest) -> str:
        if obj.subject is None:
            return "erased"
        return f"#{obj.subject_id} · {obj.subject.email}"

    @admin.display(description="Due", ordering=F("due_at").asc(nulls_last=True))
    def due(self, obj: DataSubjectRequest) -> SafeString | str:
        return due_badge(obj)

    def _user_link(self, user: User | None) -> SafeString | str:
        if user is None:
            return "—"
        url = reverse("admin:accounts_user_change", args=[user.pk])
        return format_html('<a href="{}">User #{} · {}</a>', url, user.pk, user.email)

    @admin.display(description="Subject")
    def subject_link(self, obj: DataSubjectRequest) -> SafeString | str:
        return self._user_link(obj.subject) if obj.subject else "erased"

    @admin.display(description="Filed by")
    def requester_link(self, obj: DataSubjectRequest) -> SafeString | str:
        return self._user_link(obj.requester)

    @admin.display(description="Scope")
    def scope_summary(self, obj: DataSubjectRequest) -> str:
        scope = obj.scope or {}
        parts = []
        if scope.get("categories"):
            parts.append("Categories: " + ", ".join(map(str, scope["categories"])))
        elif "changes" not in scope:
            parts.append("All categories")
        if scope.get(corrections.STAFF_REVIEW_KEY):
            fields = map(corrections.field_label, scope[corrections.STAFF_REVIEW_KEY])
            parts.append("Could not be applied automatically: " + ", ".join(fields))
        if scope.get("approved_by"):
            parts.append(f"Approved by user #{scope['approved_by']} at {scope.get('approved_at')}")
        return "; ".join(parts) or "—"

    @admin.display(description="Requested changes")
    def requested_changes(self, obj: DataSubjectRequest) -> SafeString | str:
        if not is_correction(obj):
            return "—"
        recorded = {c.field: c for c in AppliedCorrection.objects.filter(request=obj)}
        staff = {c["field"] for c in corrections.staff_only_changes(obj)}
        profile = profile_for(obj.subject) if obj.subject else None
        rows = []
        for change in obj.scope.get("changes", []):
            field = change["field"]
            if field in PROFILE_EDITABLE_FIELDS and profile is not None:
                now = corrections._as_text(getattr(profile, field))
            elif field == "email" and obj.subject is not None:
                now = obj.subject.email
            else:
                now = "—"
            done = recorded.get(field)
            if done is not None:
                state = f"Applied: “{done.before}” → “{done.after}”"
            elif field in staff:
                state = "Waiting for a privacy officer"
            else:
                state = "Not applied yet"
            rows.append((corrections.field_label(field), now, change["value"], state))
        return format_html(
            '<table class="dsar-changes"><caption>Each change the requester asked for'
            '</caption><thead><tr><th scope="col">Field</th><th scope="col">Now</th>'
            '<th scope="col">Requested</th><th scope="col">State</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            format_html_join(
                "", '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>', rows
            ),
        )

    # --- Buttons on the request's page, each leading to a small form

    def object_actions(self) -> Mapping[str, ObjectAction]:
        return STAFF_ACTIONS

    def unavailable_message(self, obj: DataSubjectRequest, action: ObjectAction) -> str:
        return (
            f"“{action.label}” is not possible while the request is "
            f"{obj.get_status_display().lower()}."
        )

    def object_action_context(
        self, request: HttpRequest, obj: DataSubjectRequest, action: ObjectAction
    ) -> dict[str, Any]:
        return {
            "reference": reference(obj),
            "due": due_badge(obj),
            "requested_changes": self.requested_changes(obj)
            if action.name == "approve" and is_correction(obj)
            else "",
        }

    # --- Bulk actions on the queue

    @admin.action(description="Approve the selected requests", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run_bulk(request, queryset, STAFF_ACTIONS["approve"])

    @admin.action(description="Retry the selected failed requests", permissions=["work"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._run_bulk(request, queryset, STAFF_ACTIONS["retry"])

    @admin.action(description="Assign the selected requests to me", permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._assign(request, queryset, request.user)  # type: ignore[arg-type]

    @admin.action(description="Take the selected requests off anyone's queue", permissions=["work"])
    def unassign_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._assign(request, queryset, None)

    def _assign(self, request: HttpRequest, queryset: QuerySet[Any], assignee: User | None) -> None:
        done = 0
        for obj in queryset:
            try:
                services.dsar_assign(request=obj, assignee=assignee, actor=request.user)  # type: ignore[arg-type]
            except ValidationError as refused:
                self.message_user(request, f"{obj}: {' '.join(refused.messages)}", messages.ERROR)
            except PermissionDenied as refused:
                self.message_user(request, f"{obj}: {refused}", messages.ERROR)
            else:
                done += 1
        whom = "you" if assignee is not None else "nobody"
        self.message_user(request, f"{done} request(s) now assigned to {whom}.", messages.SUCCESS)

    @admin.action(
        description="Export the selected to CSV (reference, type, status and dates only)",
        permissions=["view"],
    )
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        """The queue as a spreadsheet: no personal data, so no one's name or address, only what
        a report on the team's work needs. "Select all" takes every request the filters show."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(QUEUE_CSV_COLUMNS)
        for dsar in queryset.order_by("received_at", "pk"):
            writer.writerow(
                [
                    dsar.reference,
                    dsar.type,
                    dsar.status,
                    *(
                        value.isoformat() if value is not None else ""
                        for value in (
                            dsar.received_at,
                            dsar.verified_at,
                            dsar.due_at,
                            dsar.completed_at,
                        )
                    ),
                ]
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="requests-{stamp}.csv"'
        return response

    def _run_bulk(self, request: HttpRequest, queryset: QuerySet[Any], spec: StaffAction) -> None:
        done = 0
        for obj in queryset:
            if not spec.permitted(request.user, obj):
                self.message_user(request, f"{obj}: not permitted for you.", messages.ERROR)
                continue
            if not spec.available(obj):
                self.message_user(
                    request,
                    f"{obj}: not possible while {obj.get_status_display().lower()}.",
                    messages.WARNING,
                )
                continue
            try:
                spec.run(obj, request.user, ConfirmForm({}))  # type: ignore[arg-type]
            except (ValidationError, TransitionNotAllowed) as error:
                text = (
                    " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                )
                self.message_user(request, f"{obj}: {text}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{spec.done} ({done})", messages.SUCCESS)


# --- Read-only histories ----------------------------------------------------------------------


@admin.register(RequestEvent)
class RequestEventAdmin(AuditedViewMixin, ReadOnlyAdmin):
    list_display = ["at", "request", "actor_role", "from_status", "to_status"]
    list_filter = ["actor_role", "to_status"]
    list_select_related = ["request"]
    date_hierarchy = "at"
    show_full_result_count = False
