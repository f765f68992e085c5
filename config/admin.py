"""The staff admin: reachable only with a second factor used in the current session. Beside the
models, it shows the record of processing activities (core/processing_record.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from core import processing_record
from core.admin_tools import session_used_second_factor

# allauth's account pieces (e-mail addresses, second factors, sessions) join the portal's own
# "Accounts" section: staff look for a person's account in one place.
JOINS_ACCOUNTS = ("account", "mfa", "usersessions")
# The schedule's internals are code (config/celery.py): only superusers see them in admin.
SUPERUSERS_ONLY = frozenset({"django_celery_beat"})


class PortalAdminSite(admin.AdminSite):
    site_header = "privacy-portal staff"
    site_title = "privacy-portal staff"
    index_title = "Support and privacy office"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        apps = super().get_app_list(request, app_label)
        if not request.user.is_superuser:
            apps = [app for app in apps if app["app_label"] not in SUPERUSERS_ONLY]
        accounts = next((app for app in apps if app["app_label"] == "accounts"), None)
        if app_label is None and accounts is not None:
            for app in [app for app in apps if app["app_label"] in JOINS_ACCOUNTS]:
                accounts["models"].extend(app["models"])
                apps.remove(app)
            accounts["models"].sort(key=lambda model: str(model["name"]).casefold())
        return apps

    def get_urls(self) -> list[URLResolver | URLPattern]:
        own: list[URLResolver | URLPattern] = [
            path(
                "record-of-processing/",
                self.admin_view(self.processing_record),
                name="processing_record",
            ),
            path(
                "record-of-processing/print/",
                self.admin_view(self.processing_record),
                {"printable": True},
                name="processing_record_print",
            ),
            path(
                "record-of-processing.csv",
                self.admin_view(self.processing_record_csv),
                name="processing_record_csv",
            ),
        ]
        return own + super().get_urls()

    def processing_record(self, request: HttpRequest, printable: bool = False) -> HttpResponse:
        """The record of processing activities, generated now from the code and the data."""
        context = {
            **self.each_context(request),
            "title": "Record of processing activities",
            "controller": processing_record.controller(),
            "tables": processing_record.record(),
            "generated_at": timezone.now(),
        }
        template = (
            "admin/processing_record_print.html" if printable else "admin/processing_record.html"
        )
        return render(request, template, context)

    def processing_record_csv(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(processing_record.as_csv(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="record-of-processing-{stamp}.csv"'
        return response

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and session_used_second_factor(request)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Staff sign in through the portal's own log-in (allauth, with MFA), never a side door."""
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            # Signed in, but without a second factor in this session.
            return render(request, "admin/mfa_required.html", status=403)
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
