"""/api/v1/requests/...: one's own data-subject requests. Thin: serializers parse, services act.

A request created here starts unverified: a token or a session alone is no fresh proof of
identity, so a code goes to the account's e-mail address and `POST .../verify/` confirms it.
Another person's request answers 404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import User
from core.api_docs import ERRORS, INPUT_ERRORS, not_found

from . import followers, intake, selectors, services, systems
from .models import DataSubjectRequest, RequestMessage, Status
from .serializers import (
    CodeResultSerializer,
    CodeSerializer,
    DetailSerializer,
    MessageSerializer,
    RequestSerializer,
    create_schema,
    create_shape,
)
from .workflow import DOWNLOADABLE, TransitionNotAllowed

TAGS = ["requests"]

NOT_FOUND = not_found("No such request of yours.")
CONFLICT = {
    409: OpenApiResponse(description="The request's status does not allow this (e.g. closed).")
}


def _user(request: Request) -> User:
    """The signed-in user; every view here requires authentication (the default permission)."""
    return cast(User, request.user)


def _own(request: Request, public_id: uuid.UUID) -> DataSubjectRequest:
    """One of the user's requests, or 404. A guardian reaching one they filed for a minor is
    audited as a guardian's access to the minor's data."""
    found = selectors.request_for(_user(request), public_id)
    if found is None:
        raise NotFound("No such request of yours.")
    followers.request_viewed(viewer=_user(request), request=found, section="request")
    return found


def _body(dsar: DataSubjectRequest, request: Request) -> dict[str, Any]:
    return RequestSerializer(dsar, context={"request": request}).data


class RequestListView(generics.ListCreateAPIView):
    serializer_class = RequestSerializer

    def get_queryset(self) -> QuerySet[DataSubjectRequest]:
        # Each request's jobs at connected systems, for its `systems` progress, in one query.
        return systems.with_progress(selectors.requests_for(_user(self.request)))

    @extend_schema(
        tags=TAGS,
        summary="Your requests, newest first",
        responses={200: RequestSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def paginate_queryset(self, queryset: Any) -> list[Any] | None:
        # The page shown is what a guardian saw of their wards' requests: audited.
        page = super().paginate_queryset(queryset)
        shown = page if page is not None else list(queryset)
        followers.requests_listed(viewer=_user(self.request), requests=shown)
        return page

    @extend_schema(
        tags=TAGS,
        summary="File a request",
        description=(
            "Files a request of one of the policy's kinds. It starts as `identity_unverified` "
            "and a six-digit code is e-mailed to the account's address: send it to "
            "`POST /api/v1/requests/{public_id}/verify/` to confirm it's you. The deadline "
            "runs from that moment. (On the web the password asked again does the same.)\n\n"
            "If a request of the same type is still open, nothing new is filed: the details "
            "join the open request as a message, and the answer is 200 with that request."
        ),
        request=create_schema(),
        responses={
            201: OpenApiResponse(RequestSerializer, description="Filed; a code is e-mailed."),
            200: OpenApiResponse(
                RequestSerializer, description="Joined to the open request of the same type."
            ),
            **INPUT_ERRORS,
            409: OpenApiResponse(
                description="The request disagrees with itself: a correction listing the same "
                "field twice."
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = create_shape(request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        filed, created = intake.api_request_submit(
            user=_user(request),
            type=data["type"],
            details=data.get("details", ""),
            scope=data.get("scope"),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(_body(filed, request), status=code)


@extend_schema(tags=TAGS, responses={200: RequestSerializer, **NOT_FOUND, **ERRORS})
class RequestDetailView(generics.RetrieveAPIView):
    serializer_class = RequestSerializer

    def get_object(self) -> DataSubjectRequest:
        return _own(self.request, self.kwargs["public_id"])


class RequestCancelView(generics.GenericAPIView):
    serializer_class = RequestSerializer

    @extend_schema(
        tags=TAGS,
        summary="Cancel a request",
        description="Possible until the point of no return (a deletion once erasing started).",
        request=None,
        responses={200: RequestSerializer, **NOT_FOUND, **CONFLICT, **ERRORS},
    )
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        dsar = services.dsar_cancel(request=_own(request, public_id), actor=_user(request))
        return Response(_body(dsar, request))


class RequestVerifyView(generics.GenericAPIView):
    serializer_class = CodeSerializer

    @extend_schema(
        tags=TAGS,
        summary="Confirm a request with the e-mailed code",
        request=CodeSerializer,
        responses={
            200: OpenApiResponse(RequestSerializer, description="Confirmed: the clock runs."),
            400: OpenApiResponse(
                CodeResultSerializer, description="Not a code: six digits are expected."
            ),
            403: OpenApiResponse(
                CodeResultSerializer,
                description="Not the code we sent (`wrong`), or too many wrong codes: ask for "
                "a new one (`locked`).",
            ),
            410: OpenApiResponse(
                CodeResultSerializer, description="The code expired: ask for a new one."
            ),
            401: ERRORS[401],
            415: INPUT_ERRORS[415],
            **NOT_FOUND,
            409: OpenApiResponse(description="The request needs no code (already confirmed)."),
        },
    )
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        dsar = _own(request, public_id)
        as_json = 'Send the code as JSON: {"code": "123456"}.'
        try:
            serializer = CodeSerializer(data=request.data)
            valid = serializer.is_valid()
        except ParseError:  # not JSON at all: answered in the documented shape too
            valid, errors = False, [as_json]
        else:
            errors = serializer.errors.get("code") or [as_json]
        if not valid:
            return Response(
                {"detail": str(errors[0]), "result": "invalid"}, status=status.HTTP_400_BAD_REQUEST
            )
        if dsar.status != Status.IDENTITY_UNVERIFIED:
            raise TransitionNotAllowed("This request is already confirmed.")
        result = services.dsar_code_check(request=dsar, code=serializer.validated_data["code"])
        if result == "ok":
            dsar.refresh_from_db()
            return Response(_body(dsar, request))
        answers = {
            "wrong": (status.HTTP_403_FORBIDDEN, "That code is not right."),
            "expired": (status.HTTP_410_GONE, "The code expired; ask for a new one."),
            "locked": (status.HTTP_403_FORBIDDEN, "Too many wrong codes; ask for a new one."),
        }
        code, detail = answers[result]
        return Response({"detail": detail, "result": result}, status=code)


class RequestCodeView(generics.GenericAPIView):
    serializer_class = DetailSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "dsar_code"

    @extend_schema(
        tags=TAGS,
        summary="E-mail a new code",
        description="Replaces the previous code. A few an hour at most.",
        request=None,
        responses={
            202: OpenApiResponse(DetailSerializer, description="A new code is on its way."),
            429: OpenApiResponse(description="Too many codes asked for; try again later."),
            409: OpenApiResponse(description="The request needs no code (already confirmed)."),
            **NOT_FOUND,
            **ERRORS,
        },
    )
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        dsar = _own(request, public_id)
        if dsar.status != Status.IDENTITY_UNVERIFIED:
            raise TransitionNotAllowed("This request is already confirmed.")
        services.dsar_code_issue(request=dsar)
        return Response({"detail": "A new code is on its way."}, status=status.HTTP_202_ACCEPTED)


class RequestMessagesView(generics.ListCreateAPIView):
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[RequestMessage]:
        return _own(self.request, self.kwargs["public_id"]).messages.order_by("created_at", "pk")

    @extend_schema(
        tags=TAGS,
        summary="Messages between you and our privacy team",
        responses={200: MessageSerializer(many=True), **NOT_FOUND, **ERRORS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        summary="Write to our privacy team",
        description="Answering a request for clarification restarts the request's clock.",
        request=MessageSerializer,
        responses={
            201: MessageSerializer,
            **INPUT_ERRORS,
            **NOT_FOUND,
            409: OpenApiResponse(description="The request is closed; file a new one."),
            **ERRORS,
        },
    )
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        dsar = _own(request, public_id)
        serializer = MessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.dsar_message_post(
            request=dsar,
            author=_user(request),
            body=serializer.validated_data["body"],
            from_staff=False,
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class RequestDownloadView(generics.GenericAPIView):
    serializer_class = DetailSerializer

    @extend_schema(
        tags=TAGS,
        summary="Download the result of a copy or transfer",
        description="Redirects to a signed link to the encrypted archive, valid for a short time.",
        responses={
            (302, "*/*"): OpenApiResponse(description="Redirect to the archive's signed link."),
            410: OpenApiResponse(description="The archive expired; file a new request."),
            404: OpenApiResponse(description="No such request of yours, or no archive (yet)."),
            **ERRORS,
        },
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                OpenApiParameter.HEADER,
                response=[302],
                description="The signed download link.",
            )
        ],
    )
    def get(self, request: Request, public_id: uuid.UUID) -> HttpResponseRedirect | Response:
        dsar = _own(request, public_id)
        if dsar.type not in DOWNLOADABLE:
            raise NotFound("This kind of request has no download.")
        archive = selectors.live_archive_for(dsar)
        if archive is None:
            if dsar.archives.exists():
                return Response(
                    {"detail": "The archive expired; file a new request."},
                    status=status.HTTP_410_GONE,
                )
            raise NotFound("The archive is not ready yet.")
        from .downloads import download_url_for

        return HttpResponseRedirect(download_url_for(archive))
