"""/api/v1/guardian/minors/...: a guardian's view of the minors in their care. Thin.

A minor who is not in the signed-in user's care (another guardian's, an adult, a guardianship
revoked or ended) answers 404, as if they did not exist. Every read of a minor's data is audited.
A request filed here starts unverified, as a user's own request through the API does: a code is
e-mailed and `POST /api/v1/requests/{public_id}/verify/` confirms it.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from consent import selectors as consent_selectors
from consent import services as consent_services
from core.api_docs import ERRORS, INPUT_ERRORS, not_found
from guardianship import access as guardian_access
from guardianship import services as guardian_services
from guardianship.models import Guardianship
from guardianship.serializers import (
    GUARDIAN_REQUEST_SHAPES,
    GuardianConsentChangeSerializer,
    GuardianConsentDecisionSerializer,
    GuardianConsentStateSerializer,
    GuardianMinorDetailSerializer,
    GuardianMinorSerializer,
)
from requests_dsar.models import DataSubjectRequest
from requests_dsar.serializers import RequestSerializer, create_schema, create_shape

TAGS = ["guardian"]
NOT_YOURS = not_found("No such minor in your care.")


class AlreadyOpen(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The same request is already open for them; your details were added to it."
    default_code = "already_open"


def _user(request: Request) -> User:
    """The signed-in user; every view here requires authentication (the default permission)."""
    return cast(User, request.user)


def _ward(request: Request, minor_id: int, section: str = "") -> Guardianship:
    guardianship = guardian_access.guardianship_for(_user(request), minor_id)
    if guardianship is None:
        raise NotFound("No such minor in your care.")
    if section:
        guardian_services.guardian_data_viewed(guardianship=guardianship, section=section)
    return guardianship


def _states(guardianship: Guardianship) -> list[consent_selectors.PurposeStatus]:
    offered = {p.pk for p in guardian_services.purposes_for_guardian(guardianship)}
    return [
        s
        for s in consent_selectors.consent_statuses_for(guardianship.minor)
        if s.purpose.pk in offered
    ]


@extend_schema(
    tags=TAGS,
    summary="The minors in your care",
    description="Minors whose account you approved as their guardian, while the guardianship "
    "is in force. Empty for anyone else.",
    responses={200: GuardianMinorSerializer(many=True), **ERRORS},
)
class GuardianMinorListView(generics.ListAPIView):
    serializer_class = GuardianMinorSerializer
    # For the schema only; the rows come from get_queryset.
    queryset = Guardianship.objects.none()

    def get_queryset(self) -> QuerySet[Guardianship]:
        return guardian_access.guardianships_of(_user(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        shown = list(page) if page is not None else list(self.get_queryset())
        for guardianship in shown:
            guardian_services.guardian_data_viewed(guardianship=guardianship, section="summary")
        data = self.get_serializer(shown, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


@extend_schema(
    tags=TAGS,
    summary="A minor's data",
    description="Their account, profile and recent sign-ins, as their own dashboard shows them.",
    responses={200: GuardianMinorDetailSerializer, **NOT_YOURS, **ERRORS},
)
class GuardianMinorDetailView(generics.GenericAPIView):
    serializer_class = GuardianMinorDetailSerializer

    def get(self, request: Request, minor_id: int) -> Response:
        guardianship = _ward(request, minor_id, "profile")
        return Response(GuardianMinorDetailSerializer(guardianship).data)


class GuardianConsentView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="A minor's consents, per purpose",
        description="Every purpose offered to them; purposes not offered to minors never are.",
        responses={200: GuardianConsentStateSerializer(many=True), **NOT_YOURS, **ERRORS},
    )
    def get(self, request: Request, minor_id: int) -> Response:
        guardianship = _ward(request, minor_id, "consents")
        return Response(GuardianConsentStateSerializer(_states(guardianship), many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Give, withdraw or refuse a minor's consent on their behalf",
        description="Takes effect at once, recorded with you, their guardian, as the actor. "
        "Answers 201 with the event recorded, or 200 when the decision was already in force.",
        request=GuardianConsentDecisionSerializer,
        responses={
            201: GuardianConsentChangeSerializer,
            200: GuardianConsentChangeSerializer,
            **INPUT_ERRORS,
            **NOT_YOURS,
            **ERRORS,
        },
    )
    def post(self, request: Request, minor_id: int) -> Response:
        guardianship = _ward(request, minor_id)
        serializer = GuardianConsentDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = serializer.validated_data["purpose"]
        purpose = guardian_services.guardian_purpose(guardianship, key)
        if purpose is None:
            raise ValidationError({"purpose": [f"No purpose “{key}” can be decided for them."]})
        event = guardian_services.guardian_consent_decide(
            guardianship=guardianship,
            purpose=purpose,
            decision=serializer.validated_data["decision"],
            context=consent_services.collection_context(request._request),
        )
        state = next(s for s in _states(guardianship) if s.purpose.pk == purpose.pk)
        body = GuardianConsentChangeSerializer({"state": state, "event": event}).data
        return Response(body, status=status.HTTP_201_CREATED if event else status.HTTP_200_OK)


class GuardianRequestListView(generics.ListAPIView):
    serializer_class = RequestSerializer
    # For the schema only; the rows come from get_queryset.
    queryset = DataSubjectRequest.objects.none()

    def get_queryset(self) -> QuerySet[DataSubjectRequest]:
        guardianship = _ward(self.request, self.kwargs["minor_id"], "requests")
        return guardian_access.requests_filed_for(guardianship)

    @extend_schema(
        tags=TAGS,
        summary="Requests you filed for a minor, newest first",
        responses={200: RequestSerializer(many=True), **NOT_YOURS, **ERRORS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        summary="Ask for a copy or the deletion of a minor's data",
        description=(
            "Files the request with you as the requester and the minor as its subject. As for "
            "your own requests through the API, it starts as `identity_unverified` and a "
            "six-digit code is e-mailed: send it to `POST /api/v1/requests/{public_id}/verify/`"
            " to confirm it's you. (On the web the password asked again does the same.)\n\n"
            "If you already have the same request open for them, your details join it and the "
            "answer is 200 with that request."
        ),
        request=create_schema(GUARDIAN_REQUEST_SHAPES, "GuardianRequestCreate"),
        responses={
            201: OpenApiResponse(RequestSerializer, description="Filed; a code is e-mailed."),
            200: OpenApiResponse(
                RequestSerializer, description="Joined to your open request of the same kind."
            ),
            409: OpenApiResponse(
                description="The same request is already open for them (not filed by you); "
                "your details were added to it."
            ),
            **INPUT_ERRORS,
            **NOT_YOURS,
            **ERRORS,
        },
    )
    def post(self, request: Request, minor_id: int) -> Response:
        guardianship = _ward(request, minor_id)
        serializer = create_shape(request.data, GUARDIAN_REQUEST_SHAPES)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A refusal of the service's is answered by the API's exception handler (400 or 409).
        filed, created = guardian_services.guardian_request_file(
            guardianship=guardianship,
            type=data["type"],
            details=data.get("details", ""),
            scope=data.get("scope"),
            reauthenticated=False,
        )
        if filed.requester_id != guardianship.guardian_id:
            # Opened by the minor themselves: its details are theirs, not shown to the guardian.
            raise AlreadyOpen()
        body = RequestSerializer(filed, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# Included in config/api.py under /api/v1/.
urlpatterns = [
    path("guardian/minors/", GuardianMinorListView.as_view(), name="guardian-minors"),
    path(
        "guardian/minors/<int:minor_id>/",
        GuardianMinorDetailView.as_view(),
        name="guardian-minor",
    ),
    path(
        "guardian/minors/<int:minor_id>/consents/",
        GuardianConsentView.as_view(),
        name="guardian-minor-consents",
    ),
    path(
        "guardian/minors/<int:minor_id>/requests/",
        GuardianRequestListView.as_view(),
        name="guardian-minor-requests",
    ),
]
