"""Site-wide pages: the landing page, the health check, the favicon, the server error page, and
who may read the API's schema and documentation."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from kombu import Connection
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission

logger = logging.getLogger(__name__)
BROKER_TIMEOUT_SECONDS = 2


class ApiDocsReader(BasePermission):
    """The schema and docs: anyone when API_DOCS_PUBLIC (development's default), otherwise a
    signed-in person (by session or token), so a production portal does not hand a map of its
    API to every visitor."""

    message = "Sign in to read the API's schema and documentation."

    def has_permission(self, request: Any, view: Any) -> bool:
        if settings.API_DOCS_PUBLIC or request.user.is_authenticated:
            return True
        raise NotAuthenticated(self.message)


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    return render(request, "landing.html")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        logger.warning("health check: database unreachable")
        return False


def _broker_state() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"  # no broker configured: tasks run in-process (make run)
    try:
        # A fresh connection from settings, not the app's pool: the check must see the broker as
        # it is now, and must never leave a half-open connection in the pool.
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
        return "ok"
    except Exception:
        logger.warning("health check: broker unreachable")
        return "unreachable"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer; 503 naming the one that does not."""
    database = "ok" if _database_ok() else "unreachable"
    broker = _broker_state()
    failing = [
        name
        for name, state in (("database", database), ("broker", broker))
        if state == "unreachable"
    ]
    body: dict[str, object] = {
        "status": "ok" if not failing else "unavailable",
        "database": database,
        "broker": broker,
    }
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links to: send them to the SVG icon."""
    return redirect(static("favicon.svg"))


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page. Like Django's own, it renders without the request's context (whatever
    failed, the session or the database among them, is not touched again): the company's
    name and address come from settings."""
    template = loader.get_template("500.html")
    context = {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "COMPANY_CONTACT_EMAIL": settings.COMPANY_CONTACT_EMAIL,
    }
    return HttpResponseServerError(template.render(context))
