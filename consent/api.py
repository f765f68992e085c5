"""/api/v1/consent/...: one's own consents, and the check other services ask.

The user's endpoints take a session or a personal token, like the rest of the API. The check
endpoints take only a service token with the `consent:check` scope; each answer is read from
the ledger's projection, which every new event drops, so a withdrawal counts from the next
check on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from typing import cast

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.models import User
from core.api_docs import ERRORS, INPUT_ERRORS

from . import receipts, selectors, services
from .authentication import HasServiceScope, ServiceTokenAuthentication
from .models import ConsentEvent, Decision, Method, Purpose
from .serializers import (
    CHECK_KEY_MAX_LENGTH,
    MAX_ID,
    CheckBatchResultSerializer,
    CheckBatchSerializer,
    CheckQuerySerializer,
    CheckResultSerializer,
    ConsentChangeSerializer,
    ConsentEventSerializer,
    ConsentStateSerializer,
    DecisionSerializer,
    PurposeSerializer,
    check_result_data,
)
from .throttling import ServiceTokenThrottle

TAGS = ["consent"]
SERVICE_ERRORS = {
    401: OpenApiResponse(description="No valid `Authorization: Service <token>` header."),
    403: OpenApiResponse(description="The service token lacks the `consent:check` scope."),
    429: OpenApiResponse(description="Too many checks with this token; retry later."),
}


def _user(request: Request) -> User:
    return cast(User, request.user)


def _offered_purpose(user: User, key: str) -> Purpose:
    purpose = next((p for p in services.purposes_offered_to(user) if p.key == key), None)
    if purpose is None:
        raise NotFound(f"No purpose “{key}” is offered to you.")
    return purpose


@extend_schema(
    tags=TAGS,
    summary="The purposes offered to you",
    description="Every purpose your information is processed for, with its legal basis and "
    "the third parties it involves. Only optional purposes can be given and withdrawn.",
    responses={200: PurposeSerializer(many=True), **ERRORS},
)
class PurposeListView(generics.ListAPIView):
    serializer_class = PurposeSerializer
    pagination_class = None

    def get_queryset(self) -> list[Purpose]:  # type: ignore[override]
        return services.purposes_offered_to(_user(self.request))


@extend_schema(
    tags=TAGS,
    summary="Your current consent state, per purpose",
    responses={200: ConsentStateSerializer(many=True), **ERRORS},
)
class ConsentStateView(APIView):
    def get(self, request: Request) -> Response:
        statuses = selectors.consent_statuses_for(_user(request))
        return Response(ConsentStateSerializer(statuses, many=True).data)


@extend_schema(
    tags=TAGS,
    summary="Give, withdraw or refuse consent to one purpose",
    description="Takes effect at once. Withdrawing is as easy as giving: the same call. "
    "Answers 201 with the event recorded, or 200 when the decision was already in force.",
    request=DecisionSerializer,
    responses={
        201: ConsentChangeSerializer,
        200: ConsentChangeSerializer,
        404: OpenApiResponse(description="No such purpose is offered to you."),
        **INPUT_ERRORS,
        **ERRORS,
    },
)
class ConsentDecisionView(APIView):
    def post(self, request: Request, purpose_key: str) -> Response:
        user = _user(request)
        purpose = _offered_purpose(user, purpose_key)
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        choices: dict[str, Callable[..., ConsentEvent | None]] = {
            Decision.GIVEN: services.consent_give,
            Decision.WITHDRAWN: services.consent_withdraw,
            Decision.REFUSED: services.consent_refuse,
        }
        record = choices[serializer.validated_data["decision"]]
        event = record(
            user=user,
            purpose=purpose,
            method=Method.API,
            actor=user,
            context=services.collection_context(request._request),
        )
        state = next(s for s in selectors.consent_statuses_for(user) if s.purpose.pk == purpose.pk)
        body = ConsentChangeSerializer({"state": state, "event": event}).data
        return Response(body, status=status.HTTP_201_CREATED if event else status.HTTP_200_OK)


@extend_schema(
    tags=TAGS,
    summary="Your consent history, newest first",
    responses={200: ConsentEventSerializer(many=True), **ERRORS},
)
class ConsentEventListView(generics.ListAPIView):
    serializer_class = ConsentEventSerializer

    def get_queryset(self) -> QuerySet[ConsentEvent]:
        return selectors.consent_events_for(_user(self.request))


@extend_schema(
    tags=TAGS,
    summary="The consent receipt of one of your events",
    description="A Kantara Consent Receipt v1.1 (JSON), as an attachment.",
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="The Kantara consent receipt."),
        404: OpenApiResponse(description="No such event of yours."),
        **ERRORS,
    },
)
class ConsentReceiptView(APIView):
    def get(self, request: Request, event_uuid: uuid.UUID) -> Response:
        event = selectors.consent_event_for(_user(request), event_uuid)
        if event is None:
            raise NotFound("No such consent event of yours.")
        receipt = receipts.receipt_download(user=_user(request), event=event)
        return Response(
            receipt,
            headers={
                "Content-Disposition": f'attachment; filename="{receipts.receipt_filename(event)}"',
                "Cache-Control": "no-store, private",
            },
        )


# --- The service check ----------------------------------------------------------------------------


SLUG = re.compile(r"[-a-zA-Z0-9_]+")
PLAIN_JSON = "application/json"


def _plain_check_query(params: QueryDict) -> tuple[int, str] | None:
    """The user id and purpose key asked about, when both are plainly valid; otherwise None."""
    user, key = params.get("user", ""), params.get("purpose", "")
    if (
        user.isascii()
        and user.isdigit()
        and 0 < int(user) <= MAX_ID
        and len(key) <= CHECK_KEY_MAX_LENGTH
        and SLUG.fullmatch(key)
    ):
        return int(user), key
    return None


def _check_query(params: QueryDict) -> tuple[int, str]:
    """The user id and purpose key asked about. The plain case is read directly (a serializer
    costs more than the answer); anything else goes through CheckQuerySerializer, which
    accepts the same and says what is wrong (400)."""
    plain = _plain_check_query(params)
    if plain is not None:
        return plain
    query = CheckQuerySerializer(data=params)
    query.is_valid(raise_exception=True)
    return query.validated_data["user"], query.validated_data["purpose"]


def _active_purposes(keys: list[str]) -> list[Purpose]:
    found = {p.key: p for p in selectors.active_purposes()}
    return [found[k] for k in keys if k in found]


class PlainJsonNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answered at once for what services send (no Accept header, `*/*` or
    `application/json`): parsing the header costs a noticeable share of a check."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        # META, not `headers`: building the headers mapping costs more than this whole step.
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        first = renderers[0] if renderers else None
        if (
            first is not None
            and first.media_type == PLAIN_JSON
            and accept in ("*/*", PLAIN_JSON)
            and not format_suffix
            and api_settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, PLAIN_JSON
        return super().select_renderer(request, renderers, format_suffix)  # type: ignore[no-any-return]


class ConsentCheckView(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    content_negotiation_class = PlainJsonNegotiation
    permission_classes = [HasServiceScope]
    throttle_classes = [ServiceTokenThrottle]
    required_scope = services.SCOPE_CONSENT_CHECK

    def read_ahead_keys(self, request: Request) -> list[str]:
        """What a GET reads from the cache, read with the token (ServiceTokenAuthentication)."""
        query = _plain_check_query(request.query_params) if request.method == "GET" else None
        return selectors.check_cache_keys(query[0]) if query else []

    @extend_schema(
        tags=["consent check"],
        summary="May this purpose be processed for this user now?",
        description="For other services of the company, with a service token. `allowed` is the "
        "answer; `legal_basis`, `reason` and `event` say what it rests on.",
        parameters=[CheckQuerySerializer],
        responses={
            200: CheckResultSerializer,
            400: OpenApiResponse(description="A parameter is missing or malformed."),
            404: OpenApiResponse(description="No such user, or no active purpose with that key."),
            **SERVICE_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        user_id, key = _check_query(request.query_params)
        try:
            # Read along with the token, from the same parameters, when they were plain.
            found = getattr(request, "read_ahead", None)
            result = selectors.consent_check_one(user_id, key, found=found)
        except Purpose.DoesNotExist:
            raise NotFound(f"No active purpose with the key “{key}”.") from None
        if result is None:
            raise NotFound(f"No user with the id {user_id}.")
        return Response(check_result_data(result))

    @extend_schema(
        tags=["consent check"],
        summary="Check many (user, purpose) pairs at once",
        description="Every listed user against every listed purpose, at most "
        "1000 pairs. Users not found are listed in `unknown_users` (treat them as denied); an "
        "unknown purpose fails the whole request with 404, as the single check does.",
        request=CheckBatchSerializer,
        responses={
            200: CheckBatchResultSerializer,
            **INPUT_ERRORS,
            404: OpenApiResponse(
                description="No active purpose with a key listed; the body names it."
            ),
            **SERVICE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        batch = CheckBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        keys, user_ids = batch.validated_data["purposes"], batch.validated_data["users"]
        purposes = _active_purposes(keys)
        unknown = [k for k in keys if k not in {p.key for p in purposes}]
        if unknown:
            return Response(
                {"purposes": [f"No active purpose with the key “{k}”." for k in unknown]},
                status=status.HTTP_404_NOT_FOUND,
            )
        results = selectors.consent_check(user_ids, purposes)
        found = {r.user_id for r in results}
        return Response(
            {
                "results": [check_result_data(result) for result in results],
                "unknown_users": [u for u in user_ids if u not in found],
            }
        )


# Included in config/api.py under /api/v1/. The fixed paths come before the purpose key's.
urlpatterns = [
    path("consent/purposes/", PurposeListView.as_view(), name="consent-purposes"),
    path("consent/events/", ConsentEventListView.as_view(), name="consent-events"),
    path(
        "consent/events/<uuid:event_uuid>/receipt/",
        ConsentReceiptView.as_view(),
        name="consent-receipt",
    ),
    path("consent/check", ConsentCheckView.as_view(), name="consent-check"),
    path("consent/", ConsentStateView.as_view(), name="consent"),
    path("consent/<slug:purpose_key>/", ConsentDecisionView.as_view(), name="consent-decision"),
]
