"""Retention in the admin: legal holds, per-category period overrides and the retention report.

Privacy officers place and release legal holds and set overrides; support agents see them.
Every write goes through the services in retention/services.py, which audit it. The staff groups
carry no permission on these two models of their own, so a role is also recognised by the
permission that defines it: a privacy officer's `approve_request`, a support agent's work on
requests.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.admin_tools import AuditedViewMixin
from core.retention import get_rule, rule_choices
from requests_dsar.admin_actions import APPROVE, WORK

from . import services, sweep
from .models import LegalHold, RetentionOverride


def _may_manage(request: HttpRequest, codename: str) -> bool:
    user = request.user
    return bool(user.has_perm(f"retention.{codename}") or user.has_perm(APPROVE))


def _may_view(request: HttpRequest, codename: str) -> bool:
    user = request.user
    return bool(
        user.has_perm(f"retention.{codename}") or user.has_perm(WORK) or user.has_perm(APPROVE)
    )


def _add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Each message on its field, unless the field already says what is wrong."""
    for name, field_messages in error.message_dict.items():
        target = name if name in form.fields else None
        if target is None or target not in form.errors:
            form.add_error(target, field_messages)


# --- Legal holds ---------------------------------------------------------------------------------


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["user", "request", "reason", "expires_at"]
        help_texts = {
            "user": "Keeps all of this user's data from retention sweeps.",
            "request": "Keeps this request's evidence (messages, codes, corrections, archives).",
            "expires_at": "Leave empty to keep the hold until it is released.",
        }
        error_messages = {"reason": {"required": services.HOLD_REASON_MISSING}}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.validate_hold(
                user=data.get("user"),
                request=data.get("request"),
                reason=data.get("reason") or "",
                expires_at=data.get("expires_at"),
            )
        except ValidationError as error:
            _add_errors(self, error)
        return data


class HoldStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "In force"), ("ended", "Released or expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        active = LegalHold.objects.active().values("pk")
        if self.value() == "active":
            return queryset.filter(pk__in=active)
        if self.value() == "ended":
            return queryset.exclude(pk__in=active)
        return None


@admin.register(LegalHold)
class LegalHoldAdmin(AuditedViewMixin, admin.ModelAdmin):
    form = LegalHoldForm
    list_display = [
        "__str__",
        "state",
        "created_at",
        "set_by",
        "expires_at",
        "released_at",
        "released_by",
    ]
    list_filter = [HoldStateFilter]
    list_select_related = ["set_by", "released_by"]
    raw_id_fields = ["user", "request"]
    search_fields = ["=user__id", "=request__id"]
    ordering = ["-created_at"]
    actions = ["release_selected"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_view(request, "view_legalhold")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, "add_legalhold")

    # A hold is never edited or deleted: it is released, which stays on record.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_release_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, "change_legalhold")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "request", "reason", "expires_at")
        return (
            "target",
            "state",
            "reason",
            "set_by",
            "created_at",
            "expires_at",
            "released_by",
            "released_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

    @admin.display(description="On")
    def target(self, obj: LegalHold) -> str:
        return str(obj).removeprefix("Legal hold on ")

    @admin.display(description="State")
    def state(self, obj: LegalHold) -> str:
        if obj.released_at is not None:
            return "Released"
        if obj.expires_at is not None and obj.expires_at <= timezone.now():
            return "Expired"
        return "In force"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        hold = services.legal_hold_set(
            actor=request.user,
            user=obj.user,
            request=obj.request,
            reason=obj.reason,
            expires_at=obj.expires_at,
        )
        obj.pk, obj.set_by, obj.created_at = hold.pk, hold.set_by, hold.created_at

    @admin.action(description="Release the selected holds", permissions=["release"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        released = sum(
            services.legal_hold_release(hold=hold, actor=request.user) for hold in queryset
        )
        if released:
            self.message_user(request, f"Released {released} hold(s).", messages.SUCCESS)
        if released < len(queryset):
            self.message_user(
                request,
                f"{len(queryset) - released} hold(s) were already released.",
                messages.WARNING,
            )


# --- Retention periods: overrides and the report --------------------------------------------------


class RetentionOverrideForm(forms.ModelForm):
    category = forms.ChoiceField(choices=rule_choices)

    class Meta:
        model = RetentionOverride
        fields = ["category", "days", "reason"]
        help_texts = {
            "days": "The retention period for this category, in days. It replaces the setting.",
            "reason": "Why this category is kept for a different period (the law, an order...).",
        }
        error_messages = {
            "days": {"min_value": services.DAYS_OUT_OF_RANGE},
            "reason": {"required": services.OVERRIDE_REASON_MISSING},
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        category = data.get("category") or (self.instance.category if self.instance.pk else "")
        try:
            services.validate_override(
                category=category, days=data.get("days"), reason=data.get("reason") or ""
            )
        except ValidationError as error:
            _add_errors(self, error)
        return data


@admin.register(RetentionOverride)
class RetentionOverrideAdmin(admin.ModelAdmin):
    """The retention page: the report on every category, and the staff overrides."""

    form = RetentionOverrideForm
    change_list_template = "admin/retention/retentionoverride/change_list.html"
    list_display = [
        "category",
        "label",
        "days",
        "configured_days",
        "reason",
        "set_by",
        "updated_at",
    ]
    list_select_related = ["set_by"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_view(request, "view_retentionoverride")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request, "add_retentionoverride")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_manage(request, "change_retentionoverride")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_manage(request, "delete_retentionoverride")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # One override per category: to move it, delete it and add another.
        return ["category", "set_by", "updated_at"] if obj is not None else []

    @admin.display(description="Category")
    def label(self, obj: RetentionOverride) -> str:
        rule = get_rule(obj.category)
        return rule.label if rule else "unknown category (ignored)"

    @admin.display(description="Days in settings")
    def configured_days(self, obj: RetentionOverride) -> int | str:
        rule = get_rule(obj.category)
        return sweep.period_for(rule, {}).configured_days if rule else "—"

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.retention_override_set(
            category=obj.category, days=obj.days, reason=obj.reason, actor=request.user
        )
        obj.pk, obj.set_by, obj.updated_at = saved.pk, saved.set_by, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.retention_override_clear(category=obj.category, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for override in queryset:
            services.retention_override_clear(category=override.category, actor=request.user)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "title": "Retention periods",
            "retention_report": sweep.retention_report(),
        }
        return super().changelist_view(request, context)
