"""The admin's shared pieces: the second-factor test, read-only records, audited views, change
pages with context drawn from their row, and buttons on a record's page that lead to a small
form (object actions).

Every staff view of a user's personal data in the admin leaves an audit entry: a change page
read (GET) records the model and the row; a list page records the model and how many rows it
showed. Entries carry ids only, like the rest of the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from allauth.account.authentication import get_authentication_records
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .audit import audit_append
from .forms import add_service_errors
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


@dataclass(frozen=True)
class ObjectAction:
    """A button on a record's admin page, leading to a small form: shown when `available`
    for the record and `permitted` for the staff member (every one of `permissions`); `run`
    does it through the services and `done` says so."""

    name: str
    label: str
    permissions: tuple[str, ...]
    available: Callable[[Any], bool]
    form: Callable[[Any, Any], forms.Form]
    run: Callable[[Any, Any, forms.Form], object]
    done: str
    help: str = ""

    def permitted(self, user: Any, obj: Any) -> bool:
        return bool(user.has_perms(self.permissions))


class ObjectActionsMixin(ChangeContextMixin, AuditedViewMixin):
    """A record's page with buttons (`object_actions`), each at `<id>/<action_route>/<name>/`
    (URL name `<app>_<model>_<action_route>`), listed by the change form template (one that
    extends admin/object_actions_change_form.html). The action's page renders
    `action_template` with `object_action_context` added. A `refusals` exception from `run`
    (the record moved on meanwhile) sends staff back to the record with its message; a
    ValidationError shows on the form. Opening an action's page is audited like the
    record's page."""

    change_form_template = "admin/object_actions_change_form.html"
    action_route = "act"
    action_template = "admin/object_action.html"
    refusals: tuple[type[Exception], ...] = ()

    def object_actions(self) -> Mapping[str, ObjectAction]:
        return {}

    def object_action_context(
        self, request: HttpRequest, obj: Any, action: ObjectAction
    ) -> dict[str, Any]:
        return {}

    def unavailable_message(self, obj: Any, action: ObjectAction) -> str:
        return f"“{action.label}” is not possible now."

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name, self.action_route
        return [
            path(
                f"<path:object_id>/{self.action_route}/<str:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name="{}_{}_{}".format(*info),
            ),
            *super().get_urls(),
        ]

    def action_url(self, obj: Any, name: str) -> str:
        info = self.opts.app_label, self.opts.model_name, self.action_route
        return reverse("admin:{}_{}_{}".format(*info), args=[obj.pk, name])

    def actions_offered(self, request: HttpRequest, obj: Any) -> list[dict[str, str]]:
        return [
            {"label": a.label, "name": a.name, "url": self.action_url(obj, a.name)}
            for a in self.object_actions().values()
            if a.available(obj) and a.permitted(request.user, obj)
        ]

    def change_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {
            **super().change_context(request, obj),
            "staff_actions": self.actions_offered(request, obj),
        }

    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        spec = self.object_actions().get(action)
        obj = self.get_object(request, unquote(object_id))
        if spec is None or obj is None:
            raise Http404
        if not self.has_view_permission(request, obj) or not spec.permitted(request.user, obj):
            raise PermissionDenied
        info = self.opts.app_label, self.opts.model_name
        change_url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        if not spec.available(obj):
            self.message_user(request, self.unavailable_message(obj, spec), messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = spec.form(obj, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                spec.run(obj, request.user, form)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                add_service_errors(form, error)
            except self.refusals as error:
                self.message_user(request, str(error), messages.ERROR)
                return HttpResponseRedirect(change_url)
            else:
                self.message_user(request, spec.done, messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        elif request.method == "GET":
            audit_staff_view(request, obj, user_id=self.viewed_user_id(obj))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{spec.label}: {obj}",
            "opts": self.opts,
            "original": obj,
            "action": spec,
            "form": form,
            "change_url": change_url,
            "media": self.media + form.media,
            **self.object_action_context(request, obj, spec),
        }
        return TemplateResponse(request, self.action_template, context)
