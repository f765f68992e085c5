"""Every staff view of a user's personal data in the admin leaves an audit entry.

A change page read (GET) records the model and the row; a list page records the model and how
many rows it showed. Entries carry ids only, like the rest of the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from .audit import audit_append
from .models import Actor

VIEWED = "admin.viewed_personal_data"


def owner_user_id(obj: models.Model) -> int | None:
    """The id of the user whose data a row is: the user itself, its `user` or its `subject`."""
    from django.contrib.auth import get_user_model

    if isinstance(obj, get_user_model()):
        return obj.pk
    for attname in ("user_id", "subject_id"):
        value = getattr(obj, attname, None)
        if value is not None:
            return int(value)
    return None


def audit_staff_view(request: HttpRequest, obj: models.Model) -> None:
    audit_append(
        action=VIEWED,
        actor_user_id=request.user.pk,
        actor_role=Actor.STAFF,
        target_type=obj._meta.label_lower,
        target_id=obj.pk,
        data={"user_id": owner_user_id(obj), "path": request.path},
    )


class AuditedViewMixin(admin.ModelAdmin):
    """Put first in a ModelAdmin's bases for a model holding a user's personal data."""

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
            audit_staff_view(request, original)
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
