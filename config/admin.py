"""The staff admin: reachable only with a second factor used in the current session."""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode


def session_used_second_factor(request: HttpRequest) -> bool:
    return any(r.get("method") == "mfa" for r in get_authentication_records(request, request.user))


class PortalAdminSite(admin.AdminSite):
    site_header = "privacy-portal staff"
    site_title = "privacy-portal staff"
    index_title = "Support and privacy office"

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


class RecordAdminMixin:
    """For rows that arrive through the services and stay as proof (requests, cases, their
    history): staff view them and act through the page's buttons, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
