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


def _is_conflict(exc: DjangoValidationError) -> bool:
    """Every error of it has the code "conflict": the input is well formed, but the object's
    state (or another part of the request) does not allow it."""
    if hasattr(exc, "error_dict"):
        errors = [error for errors in exc.error_dict.values() for error in errors]
    else:
        errors = exc.error_list
    return bool(errors) and all(error.code == "conflict" for error in errors)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation errors as 400s instead of 500s (409s when each has
    the code "conflict"), and a request transition the state machine refuses as 409."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        if _is_conflict(exc):
            response = drf_exception_handler(ValidationError(detail), context)
            if response is not None:
                response.status_code = status.HTTP_409_CONFLICT
            return response
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


# --- OpenAPI links: where an answer's ids lead -------------------------------------------------
# (from operation, its status) -> (link name, to operation, parameters from the answer). A client
# (or a stateful test) follows them from what it created or listed to what it can do with it.
_FIRST = "$response.body#/results/0"
LINKS: dict[tuple[str, str], list[tuple[str, str, dict[str, str]]]] = {
    **{
        ("requests_create", status_code): [
            (name, operation, {"public_id": "$response.body#/public_id"})
            for name, operation in [
                ("Detail", "requests_retrieve"),
                ("Verify", "requests_verify_create"),
                ("NewCode", "requests_code_create"),
                ("Messages", "requests_messages_list"),
                ("Write", "requests_messages_create"),
                ("Download", "requests_download_retrieve"),
                ("Cancel", "requests_cancel_create"),
            ]
        ]
        for status_code in ("200", "201")
    },
    ("requests_list", "200"): [
        ("Detail", "requests_retrieve", {"public_id": f"{_FIRST}/public_id"}),
    ],
    ("consent_list", "200"): [
        ("Decide", "consent_create", {"purpose_key": "$response.body#/0/purpose"}),
    ],
    ("consent_create", "201"): [
        ("Receipt", "consent_events_receipt_retrieve", {"event_uuid": "$response.body#/event/id"}),
    ],
    ("consent_events_list", "200"): [
        ("Receipt", "consent_events_receipt_retrieve", {"event_uuid": f"{_FIRST}/id"}),
    ],
    ("me_sessions_list", "200"): [
        ("End", "me_sessions_destroy", {"session_id": f"{_FIRST}/id"}),
    ],
    ("inbox_list", "200"): [
        (name, operation, {"id": f"{_FIRST}/id"})
        for name, operation in [
            ("Detail", "inbox_retrieve"),
            ("Read", "inbox_read_create"),
            ("Unread", "inbox_unread_create"),
            ("Archive", "inbox_archive_create"),
            ("Unarchive", "inbox_unarchive_create"),
            ("Respond", "inbox_respond_create"),
        ]
    ],
    ("guardian_minors_list", "200"): [
        (name, operation, {"minor_id": f"{_FIRST}/id"})
        for name, operation in [
            ("Detail", "guardian_minors_retrieve"),
            ("Consents", "guardian_minors_consents_list"),
            ("Decide", "guardian_minors_consents_create"),
            ("Requests", "guardian_minors_requests_list"),
            ("File", "guardian_minors_requests_create"),
        ]
    ],
}


def postprocess_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: the links above, and each paginated list's 400 (a page out of
    range). A link to an operation the schema does not have fails loudly: the table is wrong."""
    operations = {
        operation["operationId"]: operation
        for methods in result.get("paths", {}).values()
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (source, status_code), links in LINKS.items():
        if source not in operations:
            continue  # a schema filtered to part of the API
        answer = operations[source]["responses"][status_code]
        answer["links"] = {
            name: {"operationId": target, "parameters": parameters}
            for name, target, parameters in links
            if target in operations
        }
    for operation in operations.values():
        names = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
        if {"limit", "offset"} <= names:
            operation["responses"].setdefault(
                "400",
                {"description": "A page out of range: `limit` 1 to 200, `offset` 0 or more."},
            )
    return result
