"""API-wide pieces: the exception handler and the /api/v1/ URL table."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts import api as accounts_api
from connectors import api as connectors_api
from consent import api as consent_api
from guardianship import api as guardian_api
from notices import api as notices_api
from requests_dsar import api as requests_api
from requests_dsar import transfer_api
from requests_dsar.workflow import TransitionNotAllowed


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's state does not allow this."
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation errors as 400s instead of 500s, and a request
    transition the state machine refuses as 409."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail)
    elif isinstance(exc, TransitionNotAllowed):
        exc = Conflict(str(exc))
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
    path("transfers/pull/", transfer_api.TransferPullView.as_view(), name="transfer-pull"),
    path("requests/", requests_api.RequestListView.as_view(), name="requests"),
    path("requests/<uuid:public_id>/", requests_api.RequestDetailView.as_view(), name="request"),
    path(
        "requests/<uuid:public_id>/cancel/",
        requests_api.RequestCancelView.as_view(),
        name="request-cancel",
    ),
    path(
        "requests/<uuid:public_id>/verify/",
        requests_api.RequestVerifyView.as_view(),
        name="request-verify",
    ),
    path(
        "requests/<uuid:public_id>/code/",
        requests_api.RequestCodeView.as_view(),
        name="request-code",
    ),
    path(
        "requests/<uuid:public_id>/messages/",
        requests_api.RequestMessagesView.as_view(),
        name="request-messages",
    ),
    path(
        "requests/<uuid:public_id>/download/",
        requests_api.RequestDownloadView.as_view(),
        name="request-download",
    ),
    *consent_api.urlpatterns,
    *connectors_api.urlpatterns,
    *guardian_api.urlpatterns,
    *notices_api.urlpatterns,
]
