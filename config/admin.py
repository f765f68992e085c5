"""The staff admin: reachable only with a second factor used in the current session."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from core.admin_tools import session_used_second_factor


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
