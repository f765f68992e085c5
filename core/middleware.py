"""The web tier's own guards: a cap on a request body before anything reads it, and an audit
entry for every refusal of a staff member on a route that names an object.

The body cap:

Django caps the fields of a form (DATA_UPLOAD_MAX_MEMORY_SIZE) and the number of files
(DATA_UPLOAD_MAX_NUMBER_FILES), but streams files of any size to temporary storage. A body
larger than REQUEST_BODY_MAX_BYTES (the largest legitimate upload: the relatives' documents)
is refused by its declared length with 413, unread. The proxy in front should refuse it
earlier still (docs/operations.md, Security model: nginx's client_max_body_size).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse

from .audit import audit_append, audit_watch
from .models import Actor

REFUSED = {403, 404, 410}


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > settings.REQUEST_BODY_MAX_BYTES:
            if request.path.startswith("/api/"):
                return HttpResponse(
                    b'{"detail": "The request body is too large."}',
                    status=413,
                    content_type="application/json",
                )
            return HttpResponse(render_to_string("413.html", request=request), status=413)
        return self.get_response(request)


class StaffRefusalAuditMiddleware:
    """A staff member refused on a route that takes an object id (a 403, 404 or 410, or the
    admin sending them to sign in with a second factor) is audited, unless the view already
    audited its own refusal: `staff.access_refused`, naming the route, the status, and the
    ids it was given (never a token's value)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_watch() as audited:
            response = self.get_response(request)
        user = getattr(request, "user", None)
        match = request.resolver_match
        if (
            audited
            or user is None
            or not user.is_authenticated
            or not user.is_staff
            or match is None
            or not match.kwargs
        ):
            return response
        status = response.status_code
        to_second_factor = (
            status == 302
            and match.app_name == "admin"
            and response.get("Location", "").startswith(reverse("admin:login"))
        )
        if status in REFUSED or to_second_factor:
            audit_append(
                action="staff.access_refused",
                actor_user_id=user.pk,
                actor_role=Actor.STAFF,
                target_type="route",
                target_id=match.view_name[:64],  # the audit's column
                data={
                    "status": status,
                    "reason": "no_second_factor" if to_second_factor else "refused",
                    "ids": {
                        name: str(value) for name, value in match.kwargs.items() if _is_id(value)
                    },
                },
            )
        return response


def _is_id(value: object) -> bool:
    """An object's id (a number or a UUID), as opposed to a token or a free value."""
    if isinstance(value, int | uuid.UUID):
        return True
    text = str(value)
    if text.isdigit() and len(text) < 20:
        return True
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
