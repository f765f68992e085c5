"""Admin: privacy officers configure connected systems and settle jobs; support agents work the
manual-task queue. Secrets are write-only; every change goes through a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.models import User
from core.admin_tools import AuditedViewMixin, ObjectAction, ObjectActionsMixin, ReadOnlyInline
from requests_dsar.admin import add_request_inline

from . import configuration, manual, services
from .forms import ConnectedSystemForm, ExceptJobForm, ManualTaskCompleteForm
from .models import ConnectedSystem, ConnectorJob, JobStatus, ManualTask

EXCEPT = "connectors.except_connectorjob"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _request_link(job: ConnectorJob) -> SafeString:
    url = reverse("admin:requests_dsar_datasubjectrequest_change", args=[job.request_id])
    return format_html('<a href="{}">{}</a>', url, job.request.reference)


# --- A request's jobs, on its page ----------------------------------------------------------


class ConnectorJobInline(ReadOnlyInline):
    """The request's child jobs at the company's other systems, each linked to its page (where
    staff retry or except it)."""

    model = ConnectorJob
    fields = ("system", "type", "job_status", "attempts", "last_error", "completed_at")
    readonly_fields = fields
    show_change_link = True
    verbose_name = "connected system"
    verbose_name_plural = "connected systems"

    @admin.display(description="status")
    def job_status(self, obj: Any) -> str:
        return str(obj.get_status_display())

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("system").order_by("system__name")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("requests_dsar.view_datasubjectrequest"))


add_request_inline(ConnectorJobInline)


# --- Connected systems -----------------------------------------------------------------------


@admin.register(ConnectedSystem)
class ConnectedSystemAdmin(admin.ModelAdmin):
    form = ConnectedSystemForm
    list_display = ("name", "kind", "enabled", "owner_team", "breaker", "key_id_shown")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "key", "owner_team")
    readonly_fields = ("key_id_shown", "previous_key_id_shown", "breaker", "has_dsn")
    actions = ["reset_breaker"]
    fieldsets = (
        (None, {"fields": ("key", "name", "owner_team", "description", "kind", "enabled")}),
        (
            "What it holds and serves",
            {"fields": ("categories_text", "purposes", "third_party", "request_types")},
        ),
        ("How it knows the subject", {"fields": ("identifiers",)}),
        (
            "HTTP connector",
            {
                "fields": (
                    "url",
                    "timeout_seconds",
                    "key_id_shown",
                    "previous_key_id_shown",
                    "new_secret",
                    "drop_previous_secret",
                )
            },
        ),
        (
            "Database connector",
            {"fields": ("has_dsn", "dsn", "mapping_text", "sample_identifier")},
        ),
        (
            "Retries and circuit breaker",
            {
                "fields": (
                    "max_attempts",
                    "retry_base_seconds",
                    "failure_threshold",
                    "cooldown_seconds",
                    "breaker",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        # Signing key ids start with the key: it cannot change once systems use it.
        return (*fields, "key") if obj is not None else fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # jobs refer to it: disable it instead

    @admin.display(description="current key id")
    def key_id_shown(self, obj: ConnectedSystem) -> str:
        return obj.key_id if obj.secret_encrypted else "—"

    @admin.display(description="previous key id (still accepted)")
    def previous_key_id_shown(self, obj: ConnectedSystem) -> str:
        return obj.previous_key_id or "—"

    @admin.display(description="DSN stored", boolean=True)
    def has_dsn(self, obj: ConnectedSystem) -> bool:
        return bool(obj.dsn_encrypted)

    @admin.display(description="circuit breaker")
    def breaker(self, obj: ConnectedSystem) -> str:
        if obj.breaker_open:
            return f"open until {obj.open_until:%Y-%m-%d %H:%M} UTC"
        if obj.consecutive_failures:
            return f"closed ({obj.consecutive_failures} recent failures)"
        return "closed"

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        assert isinstance(form, ConnectedSystemForm)
        system = form.apply_to_instance()
        configuration.connected_system_save(
            system=system,
            actor=_user(request),
            changed=form.changed_data,
            new_secret=form.cleaned_data.get("new_secret") or "",
            drop_previous_secret=bool(form.cleaned_data.get("drop_previous_secret")),
            new_dsn=form.cleaned_data.get("dsn") or "",
        )
        report = form.dry_run
        if report is not None:
            counts = ", ".join(f"{table}: {n} rows" for table, n in report.counts.items())
            messages.info(
                request,
                f"Dry run passed: {report.tables} tables checked against the database."
                + (f" For the sample identifier: {counts}." if counts else ""),
            )

    @admin.action(description="Close the circuit breaker (the system is back)")
    def reset_breaker(self, request: HttpRequest, queryset: QuerySet[ConnectedSystem]) -> None:
        if not request.user.has_perm("connectors.change_connectedsystem"):
            raise PermissionDenied
        for system in queryset:
            services.system_breaker_reset(system=system, actor=_user(request))
        self.message_user(request, f"{queryset.count()} circuit breakers closed.")


# --- Jobs --------------------------------------------------------------------------------------


JOB_ACTIONS = {
    action.name: action
    for action in [
        ObjectAction(
            name="retry",
            label="Send again now",
            permissions=("connectors.change_connectorjob",),
            available=services.job_retryable,
            form=lambda job, data: forms.Form(data),
            run=lambda job, actor, form: services.job_retry(job=job, actor=actor),
            done="Queued again: it is sent in a moment, with a fresh set of attempts.",
            help="The system is asked again for this request's part, under the same job id "
            "(it treats it as the same work), and the attempts start over.",
        ),
        ObjectAction(
            name="except",
            label="Except this system",
            permissions=(EXCEPT,),
            available=lambda job: not job.is_settled,
            form=lambda job, data: ExceptJobForm(data),
            run=lambda job, actor, form: services.job_except(
                job=job, officer=actor, **form.cleaned_data
            ),
            done="Excepted: the request no longer waits for this system.",
            help="The request is complete only when every system in its scope is done or "
            "excepted. Excepting settles this system's job for this request: nothing more is "
            "sent to it, and the requester's copy says what you choose below instead of its "
            "part.",
        ),
    ]
}


@admin.register(ConnectorJob)
class ConnectorJobAdmin(ObjectActionsMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "request_link",
        "system",
        "type",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "type", "system")
    search_fields = ("=id", "=request__public_id")
    list_select_related = ("system", "request")
    actions = ["retry_jobs"]
    action_route = "do"
    fields = (
        "id",
        "request_link",
        "system",
        "type",
        "status",
        "scope",
        "attempts",
        "next_attempt_at",
        "last_error",
        "result_summary_shown",
        "confirmation",
        "has_result",
        "excepted_reason",
        "requester_reason",
        "requester_text",
        "excepted_by",
        "excepted_at",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Every field is read-only; changes go through the actions and the except page.
        return False

    @admin.display(description="request")
    def request_link(self, obj: ConnectorJob) -> SafeString:
        return _request_link(obj)

    @admin.display(description="result")
    def result_summary_shown(self, obj: ConnectorJob) -> SafeString | str:
        counts = (obj.result_summary or {}).get("counts") or {}
        if not counts:
            return "—"
        return format_html_join(", ", "{}: {}", sorted(counts.items()))

    @admin.display(description="result data stored", boolean=True)
    def has_result(self, obj: ConnectorJob) -> bool:
        return bool(obj.result_storage_name)

    @admin.action(description="Send the selected jobs again now (same job id)")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[ConnectorJob]) -> None:
        retried, refused = 0, 0
        for job in queryset.select_related("system"):
            try:
                services.job_retry(job=job, actor=_user(request))
                retried += 1
            except (ValidationError, PermissionDenied):
                refused += 1
        message = f"{retried} job{'s' if retried != 1 else ''} queued again."
        if refused:
            message += f" {refused} could not be (done, excepted, being sent, or manual)."
        self.message_user(request, message)

    # --- Buttons on a job's page

    def object_actions(self) -> Mapping[str, ObjectAction]:
        return JOB_ACTIONS

    def unavailable_message(self, obj: ConnectorJob, action: ObjectAction) -> str:
        return f"“{action.label}” is not possible while the job is {obj.get_status_display()}."

    def viewed_user_id(self, obj: ConnectorJob) -> int | None:
        return obj.request.subject_id


# --- Manual tasks ------------------------------------------------------------------------------


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "To do"), ("done", "Completed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "open":
            return queryset.filter(completed_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(completed_at__isnull=False)
        return None


@admin.register(ManualTask)
class ManualTaskAdmin(AuditedViewMixin, admin.ModelAdmin):
    form = ManualTaskCompleteForm
    list_display = ("due_at", "system", "job_type", "request_link", "state", "completed_by")
    list_filter = (OpenFilter, "job__system")
    list_select_related = ("job__system", "job__request", "completed_by")
    readonly_fields = (
        "system",
        "job_type",
        "request_link",
        "due_at",
        "instructions",
        "subject",
        "state",
        "completed_at",
        "completed_by",
        "stored_note",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(self.readonly_fields)
        if obj is not None and obj.is_open:
            fields.remove("stored_note")
            fields += ["result_file", "note"]
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.is_open)

    @admin.display(description="system")
    def system(self, obj: ManualTask) -> str:
        return obj.job.system.name

    @admin.display(description="to do")
    def job_type(self, obj: ManualTask) -> str:
        return obj.job.get_type_display()

    @admin.display(description="request")
    def request_link(self, obj: ManualTask) -> SafeString:
        return _request_link(obj.job)

    @admin.display(description="state")
    def state(self, obj: ManualTask) -> str:
        if obj.completed_at:
            return "completed"
        return "excepted" if obj.job.status == JobStatus.EXCEPTED else "to do"

    @admin.display(description="confirmation note")
    def stored_note(self, obj: ManualTask) -> str:
        return obj.note or "—"

    @admin.display(description="the person (their identifiers)")
    def subject(self, obj: ManualTask) -> SafeString | str:
        data = manual.subject_for_staff(obj)
        identifiers = data.get("identifiers") or {}
        if not identifiers:
            return "— (removed once the task was settled)"
        rows = format_html_join(
            "", "<li>{}: {}</li>", ((name, value) for name, value in sorted(identifiers.items()))
        )
        changes = format_html_join(
            "", "<li>{} → {}</li>", ((c["field"], c["value"]) for c in data.get("changes", []))
        )
        if changes:
            return format_html("<ul>{}</ul><p>Corrections:</p><ul>{}</ul>", rows, changes)
        return format_html("<ul>{}</ul>", rows)

    def viewed_user_id(self, obj: ManualTask) -> int | None:
        # Staff saw the subject's identifiers: recorded like every staff view of personal data.
        return obj.job.request.subject_id

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        try:
            manual.manual_task_complete(
                task=obj,
                actor=_user(request),
                result_file=form.cleaned_data.get("result_file"),
                note=form.cleaned_data.get("note") or "",
            )
        except ValidationError as exc:
            # Someone completed it meanwhile: nothing was recorded.
            request._connector_refused = exc.messages  # type: ignore[attr-defined]

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        refused = getattr(request, "_connector_refused", None)
        if refused:
            for message in refused:
                self.message_user(request, message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(request, "The task is completed and the system's job is done.")
        return HttpResponseRedirect(reverse("admin:connectors_manualtask_changelist"))
