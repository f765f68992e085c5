"""API-wide pieces: the exception handler and the /api/v1/ URL table."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import api as accounts_api


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation errors as 400s instead of 500s."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail)
    return drf_exception_handler(exc, context)


urlpatterns = [
    path("me/", accounts_api.AccountView.as_view(), name="me"),
    path("me/profile/", accounts_api.ProfileView.as_view(), name="profile"),
    path("me/logins/", accounts_api.LoginHistoryView.as_view(), name="logins"),
    path("me/sessions/", accounts_api.SessionListView.as_view(), name="sessions"),
    path(
        "me/sessions/<int:session_id>/",
        accounts_api.SessionEndView.as_view(),
        name="session-end",
    ),
]
