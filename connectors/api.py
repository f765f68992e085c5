"""/api/v1/connectors/...: the callback systems sign their results with, and staff reads.

The callback takes no session or token: the HMAC signature of the system the job belongs to is
its authentication (docs/connector-protocol.md). It verifies the raw bytes before parsing them,
refuses stale and replayed messages, and treats a result for a settled job as a duplicate.
The staff endpoints take a staff member's personal token or admin session.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.models import ApiToken
from core.admin_tools import session_used_second_factor
from core.audit import audit_append
from core.models import Actor
from requests_dsar.models import DataSubjectRequest
from requests_dsar.serializers import RequestProgressSerializer

from . import selectors, services, signing
from .configuration import system_keys
from .models import ConnectedSystem, ConnectorJob, Kind
from .results import InvalidResult
from .serializers import (
    CallbackAnswerSerializer,
    CallbackSerializer,
    ConnectedSystemSerializer,
    ConnectorJobSerializer,
    DetailSerializer,
    JobFilterSerializer,
)
from .vault import SealedValueUnreadable

TAGS = ["connectors"]
REPLAY_PREFIX = "connectors:seen:"


def _detail(message: str, code: int, **headers: str) -> Response:
    return Response({"detail": message}, status=code, headers=headers or None)


def _unsigned(message: str) -> Response:
    return _detail(message, status.HTTP_401_UNAUTHORIZED, **{"WWW-Authenticate": "PortalSignature"})


def _signing_system(key_id: str) -> tuple[ConnectedSystem, dict[str, str]] | None:
    system_key, _sep, _version = key_id.rpartition(".")
    system = ConnectedSystem.objects.filter(key=system_key, kind=Kind.HTTP).first()
    if system is None:
        return None
    try:
        return system, system_keys(system)
    except SealedValueUnreadable:
        return None


class _TooLarge(Exception):
    pass


# Read in chunks; up to this much stays in memory, the rest spills to a temporary file until
# the signature is known to hold.
_CHUNK_BYTES = 64 * 1024
_IN_MEMORY_BYTES = 1024 * 1024


def _read_signed_body(request: Request, presented: signing.Presented, limit: int) -> bytes:
    """The raw body, at most `limit` bytes, checked against its signature as it streams:
    results can be far larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE (which guards only
    `request.body`), and an unsigned sender must not make the portal hold them. Raises
    _TooLarge or SignatureError("mismatch")."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    digest = presented.digest()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES) as spool:
        while chunk := request._request.read(_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            digest.update(chunk)
            spool.write(chunk)
        if not presented.matches(digest):
            raise signing.SignatureError("mismatch")
        spool.seek(0)
        return spool.read()


SIGNATURE_HEADERS = [
    OpenApiParameter(
        signing.HEADER_KEY_ID,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description='The signing secret\'s id, e.g. "product.2".',
    ),
    OpenApiParameter(
        signing.HEADER_TIMESTAMP,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="Unix time in seconds when the message was signed.",
    ),
    OpenApiParameter(
        signing.HEADER_SIGNATURE,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description='"v1=" and the hex HMAC-SHA256 of "<timestamp>.<body>".',
    ),
]


@extend_schema(
    tags=TAGS,
    summary="A connected system's result for a job (signed callback)",
    description="What a system that answered a job with 202 sends once it is done: the same "
    "result object as an immediate 200 answer, signed like the job was "
    "(docs/connector-protocol.md). A result for a job already settled is acknowledged with "
    "`duplicate` and not applied again.",
    parameters=SIGNATURE_HEADERS,
    request=CallbackSerializer,
    auth=[],
    responses={
        200: CallbackAnswerSerializer,
        400: OpenApiResponse(DetailSerializer, description="Not a valid result."),
        401: OpenApiResponse(
            DetailSerializer, description="Unsigned, stale, or the signature does not match."
        ),
        404: OpenApiResponse(DetailSerializer, description="No such job at this system."),
        409: OpenApiResponse(DetailSerializer, description="This exact message was replayed."),
        413: OpenApiResponse(DetailSerializer, description="The result is too large."),
        429: OpenApiResponse(description="Too many callbacks; retry later."),
    },
)
class CallbackView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "connector_callback"

    def post(self, request: Request) -> Response:
        headers = request.headers
        try:
            key_id = signing.presented_key_id(headers)
        except signing.SignatureError as exc:
            return _unsigned(str(exc))
        found = _signing_system(key_id)
        if found is None:
            return _unsigned(signing.SignatureError.messages["unknown_key"])
        system, keys = found
        window = settings.CONNECTOR_SIGNATURE_WINDOW_SECONDS
        try:
            presented = signing.check_headers(headers, keys=keys, window=window)
            body = _read_signed_body(request, presented, settings.CONNECTOR_MAX_RESULT_BYTES)
        except signing.SignatureError as exc:
            return _unsigned(str(exc))
        except _TooLarge:
            return _detail("The result is too large.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        # Replays of one signed message within the window are refused. Job idempotency below
        # is the real guarantee; this memory only shortens a replay's way.
        if not cache.add(REPLAY_PREFIX + signing.replay_key(headers), 1, timeout=2 * window + 60):
            return _detail(
                "This exact message was already received (a replay); sign each delivery anew.",
                status.HTTP_409_CONFLICT,
            )
        try:
            payload = json.loads(body)
            job_id = str(uuid.UUID(str(payload["job_id"])))
        except (ValueError, TypeError, KeyError):
            return _detail(
                "The body must be a JSON result object with a valid `job_id`.",
                status.HTTP_400_BAD_REQUEST,
            )
        try:
            outcome = services.callback_receive(system=system, job_id=job_id, payload=payload)
        except services.JobNotFound:
            return _detail("No such job at this system.", status.HTTP_404_NOT_FOUND)
        except InvalidResult as exc:
            return _detail(f"Not a valid result: {exc}.", status.HTTP_400_BAD_REQUEST)
        return Response({"job_id": job_id, "status": outcome})


# --- Staff reads --------------------------------------------------------------------------------


def _route_name(request: Request) -> str:
    match = request._request.resolver_match
    return (match.view_name if match is not None else "")[:64]  # the audit's column


class StaffCanView(BasePermission):
    """A staff member with the view permission the view names, who passed the admin's own gate:
    a session that used a second factor, or a staff-scoped token (issued only in such a
    session). A staff member refused for want of either is audited."""

    message = "Only staff who may see connected systems can use this endpoint."
    SECOND_FACTOR = (
        "The staff API needs a session signed in with two-factor authentication, or a "
        "staff token made in one."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (
            user and user.is_authenticated and user.is_staff and user.has_perm(view.permission)
        ):
            return False
        token = request.auth
        if isinstance(token, ApiToken):
            allowed = token.staff_scope
        else:
            allowed = session_used_second_factor(request._request)
        if not allowed:
            self.message = self.SECOND_FACTOR
            audit_append(
                action="staff.api_refused",
                actor_user_id=user.pk,
                actor_role=Actor.STAFF,
                target_type="route",
                target_id=_route_name(request),
                data={"reason": "token_not_staff" if token is not None else "no_second_factor"},
            )
        return allowed


STAFF_ERRORS = {
    401: OpenApiResponse(description="Not signed in."),
    403: OpenApiResponse(
        description="Not staff, not allowed to see connected systems, or not signed in with "
        "two-factor authentication (nor holding a staff token)."
    ),
}


@extend_schema(
    tags=TAGS,
    summary="Connected systems (staff)",
    responses={200: ConnectedSystemSerializer(many=True), **STAFF_ERRORS},
)
class SystemListView(generics.ListAPIView):
    permission_classes = [StaffCanView]
    permission = "connectors.view_connectedsystem"
    serializer_class = ConnectedSystemSerializer

    def get_queryset(self) -> QuerySet[ConnectedSystem]:
        return ConnectedSystem.objects.prefetch_related("purposes").select_related("third_party")


@extend_schema(
    tags=TAGS,
    summary="One connected system (staff)",
    responses={
        200: ConnectedSystemSerializer,
        404: OpenApiResponse(description="No such system."),
        **STAFF_ERRORS,
    },
)
class SystemDetailView(generics.RetrieveAPIView):
    permission_classes = [StaffCanView]
    permission = "connectors.view_connectedsystem"
    serializer_class = ConnectedSystemSerializer
    lookup_url_kwarg = "system_id"

    def get_queryset(self) -> QuerySet[ConnectedSystem]:
        return ConnectedSystem.objects.prefetch_related("purposes").select_related("third_party")


@extend_schema(
    tags=TAGS,
    summary="Child jobs of requests at connected systems (staff)",
    parameters=[JobFilterSerializer],
    responses={
        200: ConnectorJobSerializer(many=True),
        400: OpenApiResponse(description="A filter is malformed."),
        **STAFF_ERRORS,
    },
)
class JobListView(generics.ListAPIView):
    permission_classes = [StaffCanView]
    permission = "connectors.view_connectorjob"
    serializer_class = ConnectorJobSerializer

    def get_queryset(self) -> QuerySet[ConnectorJob]:
        filters = JobFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        jobs = ConnectorJob.objects.select_related("system", "request").order_by("-created_at")
        if "request" in wanted:
            jobs = jobs.filter(request__public_id=wanted["request"])
        if "system" in wanted:
            jobs = jobs.filter(system_id=wanted["system"])
        if "status" in wanted:
            jobs = jobs.filter(status=wanted["status"])
        return jobs


@extend_schema(
    tags=TAGS,
    summary="One child job (staff)",
    responses={
        200: ConnectorJobSerializer,
        404: OpenApiResponse(description="No such job."),
        **STAFF_ERRORS,
    },
)
class JobDetailView(generics.RetrieveAPIView):
    permission_classes = [StaffCanView]
    permission = "connectors.view_connectorjob"
    serializer_class = ConnectorJobSerializer
    lookup_url_kwarg = "job_id"
    queryset = ConnectorJob.objects.select_related("system", "request")


@extend_schema(
    tags=TAGS,
    summary="A request's progress at connected systems (staff)",
    responses={
        200: RequestProgressSerializer,
        404: OpenApiResponse(description="No such request."),
        **STAFF_ERRORS,
    },
)
class RequestProgressView(APIView):
    permission_classes = [StaffCanView]
    permission = "connectors.view_connectorjob"

    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        dsar = get_object_or_404(DataSubjectRequest, public_id=public_id)
        progress = selectors.request_progress(dsar)
        data = RequestProgressSerializer(
            {**progress.__dict__, "complete": progress.complete, "text": progress.text}
        ).data
        return Response(data)


urlpatterns = [
    path("connectors/callback/", CallbackView.as_view(), name="connectors-callback"),
    path("connectors/systems/", SystemListView.as_view(), name="connectors-systems"),
    path(
        "connectors/systems/<int:system_id>/",
        SystemDetailView.as_view(),
        name="connectors-system",
    ),
    path("connectors/jobs/", JobListView.as_view(), name="connectors-jobs"),
    path("connectors/jobs/<uuid:job_id>/", JobDetailView.as_view(), name="connectors-job"),
    path(
        "connectors/requests/<uuid:public_id>/progress/",
        RequestProgressView.as_view(),
        name="connectors-request-progress",
    ),
]
