"""The admin's shared pieces: the second-factor test, read-only records, audited views and change
pages with context drawn from their row.

Every staff view of a user's personal data in the admin leaves an audit entry: a change page
read (GET) records the model and the row; a list page records the model and how many rows it
showed. Entries carry ids only, like the rest of the audit log.
"""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db import models
from django.http import HttpRequest, HttpResponse

from .audit import audit_append
from .models import Actor

VIEWED = "admin.viewed_personal_data"


def session_used_second_factor(request: HttpRequest) -> bool:
    return any(r.get("method") == "mfa" for r in get_authentication_records(request, request.user))


def owner_user_id(obj: models.Model) -> int | None:
    """The id of the user whose data a row is: the user itself, its `user` or its `subject`."""
    if isinstance(obj, get_user_model()):
        return obj.pk
    for attname in ("user_id", "subject_id"):
        value = getattr(obj, attname, None)
        if value is not None:
            return int(value)
    return None


def audit_staff_view(
    request: HttpRequest, obj: models.Model, *, user_id: int | None = None
) -> None:
    """Record that staff saw `obj`, a row of the data of user `user_id` (by default its owner,
    `owner_user_id`)."""
    audit_append(
        action=VIEWED,
        actor_user_id=request.user.pk,
        actor_role=Actor.STAFF,
        target_type=obj._meta.label_lower,
        target_id=obj.pk,
        data={"user_id": user_id or owner_user_id(obj), "path": request.path},
    )


class AuditedViewMixin(admin.ModelAdmin):
    """Put first in a ModelAdmin's bases for a model holding a user's personal data. Override
    `viewed_user_id` for rows whose owner is not their `user` or `subject`."""

    def viewed_user_id(self, obj: Any) -> int | None:
        return owner_user_id(obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None) or {}
        original = context.get("original")
        if request.method == "GET" and response.status_code == 200 and original is not None:
            audit_staff_view(request, original, user_id=self.viewed_user_id(original))
        return response

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            audit_append(
                action=VIEWED,
                actor_user_id=request.user.pk,
                actor_role=Actor.STAFF,
                target_type=self.model._meta.label_lower,
                data={"rows": len(changelist.result_list), "path": request.path},
            )
        return response


class ChangeContextMixin(admin.ModelAdmin):
    """A change page whose context grows from its row: override `change_context`."""

    def change_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if obj is not None:
            extra.update(self.change_context(request, obj))
        return super().change_view(request, object_id, form_url, extra)


class RecordAdminMixin:
    """For rows that arrive through the services and stay as proof (requests, cases, their
    history): staff view them and act through the page's buttons, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(RecordAdminMixin, admin.TabularInline):
    """A record's history shown on its parent's page, never edited there."""

    extra = 0
    can_delete = False
    show_change_link = False


class ReadOnlyAdmin(RecordAdminMixin, admin.ModelAdmin):
    """A list of records kept as proof: read here, changed only by the services."""
