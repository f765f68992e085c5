"""Service tokens in admin: staff create them (the secret is shown once) and revoke them.

Registered from ConsentConfig.ready(), apart from consent/admin.py (policies and purposes).
A token is never edited: a new need gets a new token, an old one is revoked.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from . import services
from .models import ServiceToken


class ServiceTokenCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=list(services.SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        initial=[services.SCOPE_CONSENT_CHECK],
        help_text="What the service may ask. Give each service only what it needs.",
    )

    class Meta:
        model = ServiceToken
        fields = ["name", "scopes"]


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scope_list", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "scopes", "active", "created_at", "last_used_at"]
    actions = ["revoke"]

    @admin.display(description="Scopes")
    def scope_list(self, obj: ServiceToken) -> str:
        return ", ".join(obj.scopes)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = ServiceTokenCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else list(self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "scopes"] if obj is None else list(self.readonly_fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the audit log keeps referring to it

    def save_model(self, request: HttpRequest, obj: ServiceToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing is editable
        token, secret = services.service_token_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            actor=request.user,  # type: ignore[arg-type]
        )
        for field in ServiceToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        obj._state.adding = False
        request._service_token_secret = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ServiceToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the secret on this one response, never again: only its hash is kept."""
        response = TemplateResponse(
            request,
            "admin/consent/servicetoken/secret.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "token": obj,
                "secret": getattr(request, "_service_token_secret", ""),
                "title": "Service token created",
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return  # no relations; save_model did the work

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ServiceToken]) -> None:
        revoked = sum(
            services.service_token_revoke(token=token, actor=request.user)  # type: ignore[arg-type]
            for token in queryset
        )
        messages.success(request, f"{revoked} token(s) revoked; their next request is refused.")
