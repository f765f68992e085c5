"""/api/v1/inbox/...: one's own site messages, the actions on them and the e-mail preferences.

Thin: serializers parse, services act. Another user's message answers 404, as if it did not
exist. Reading a message here does not mark it read: `POST .../read/` does.
"""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from core.api_docs import ERRORS, INPUT_ERRORS, not_found
from core.models import MAX_ID

from . import services
from .models import Message
from .serializers import (
    InboxMessageSerializer,
    InboxQuerySerializer,
    PreferenceSerializer,
    PreferencesUpdateSerializer,
    ReadAllSerializer,
    RespondSerializer,
)

TAGS = ["inbox"]
NOT_FOUND = not_found("No such message of yours.")


def _user(request: Request) -> User:
    """The signed-in user; every view here requires authentication (the default permission)."""
    return cast(User, request.user)


def _not_found() -> NotFound:
    return NotFound("No such message of yours.")


def _own(request: Request, pk: int) -> Message:
    message = services.message_for(_user(request), pk) if pk <= MAX_ID else None
    if message is None:
        raise _not_found()
    return message


class MessageListView(generics.ListAPIView):
    serializer_class = InboxMessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        # A plain dict: from a QueryDict, DRF would take a missing boolean for false.
        query = InboxQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        found: QuerySet[Message] = services.inbox(_user(self.request), archived=filters["archived"])
        if "unread" in filters:
            found = found.filter(read_at__isnull=filters["unread"])
        if filters.get("category"):
            found = found.filter(category=filters["category"])
        return found

    @extend_schema(
        tags=TAGS,
        summary="Your messages, newest first",
        description="The inbox (or, with `archived=true`, the archived messages), optionally "
        "only unread or read ones and only one category.",
        parameters=[InboxQuerySerializer],
        responses={
            200: InboxMessageSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid; the body says which."),
            **ERRORS,
        },
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(
    tags=TAGS,
    summary="One of your messages",
    description="Reading it here does not mark it read; `POST .../read/` does.",
    responses={200: InboxMessageSerializer, **NOT_FOUND, **ERRORS},
)
class MessageDetailView(generics.RetrieveAPIView):
    serializer_class = InboxMessageSerializer

    def get_object(self) -> Message:
        return _own(self.request, self.kwargs["pk"])


class _MessageActionView(generics.GenericAPIView):
    serializer_class = InboxMessageSerializer

    def act(self, user: User, pk: int) -> Message | None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        message = self.act(_user(request), pk) if pk <= MAX_ID else None
        if message is None:
            raise _not_found()
        return Response(InboxMessageSerializer(message).data)


ACTION_RESPONSES = {200: InboxMessageSerializer, **NOT_FOUND, **ERRORS}


@extend_schema(tags=TAGS, summary="Mark a message read", request=None, responses=ACTION_RESPONSES)
class MessageReadView(_MessageActionView):
    def act(self, user: User, pk: int) -> Message | None:
        return services.message_mark_read(user=user, message_id=pk, read=True)


@extend_schema(tags=TAGS, summary="Mark a message unread", request=None, responses=ACTION_RESPONSES)
class MessageUnreadView(_MessageActionView):
    def act(self, user: User, pk: int) -> Message | None:
        return services.message_mark_read(user=user, message_id=pk, read=False)


@extend_schema(
    tags=TAGS,
    summary="Archive a message",
    description="It leaves the inbox for the archive, and counts as read.",
    request=None,
    responses=ACTION_RESPONSES,
)
class MessageArchiveView(_MessageActionView):
    def act(self, user: User, pk: int) -> Message | None:
        return services.message_archive(user=user, message_id=pk, archived=True)


@extend_schema(
    tags=TAGS,
    summary="Bring an archived message back to the inbox",
    request=None,
    responses=ACTION_RESPONSES,
)
class MessageUnarchiveView(_MessageActionView):
    def act(self, user: User, pk: int) -> Message | None:
        return services.message_archive(user=user, message_id=pk, archived=False)


class MessageRespondView(generics.GenericAPIView):
    serializer_class = RespondSerializer

    @extend_schema(
        tags=TAGS,
        summary="Accept or object to a notice that asks for your answer",
        description="Only for a message with `requires_response` (e.g. a transfer of your "
        "information to a new company that needs your consent). Once only: the same answer "
        "again changes nothing, a different one is refused.",
        request=RespondSerializer,
        responses={
            200: InboxMessageSerializer,
            400: OpenApiResponse(description="Not a valid answer: `accepted` or `objected`."),
            409: OpenApiResponse(
                description="The notice asks for no answer, or it is already answered "
                "otherwise; the body says which."
            ),
            415: INPUT_ERRORS[415],
            **NOT_FOUND,
            **ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = RespondSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if pk > MAX_ID:
            raise _not_found()
        try:
            message = services.message_respond(
                user=_user(request),
                message_id=pk,
                response=serializer.validated_data["response"],
            )
        except Message.DoesNotExist as exc:
            raise _not_found() from exc
        return Response(InboxMessageSerializer(message).data)


class ReadAllView(generics.GenericAPIView):
    serializer_class = ReadAllSerializer

    @extend_schema(
        tags=TAGS,
        summary="Mark all your messages read",
        request=None,
        responses={200: ReadAllSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        marked = services.messages_mark_all_read(user=_user(request))
        return Response(ReadAllSerializer({"marked": marked}).data)


class PreferencesView(generics.GenericAPIView):
    serializer_class = PreferenceSerializer
    pagination_class = None

    @extend_schema(
        tags=TAGS,
        summary="Your e-mail preferences, per category",
        description="Every notice reaches your inbox; `email` says whether it is e-mailed too.",
        responses={200: PreferenceSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        preferences = services.preferences_for(_user(request))
        return Response(PreferenceSerializer(preferences, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Switch e-mail on or off for some categories",
        description="Name only the categories to change. Security incidents and request "
        "updates are always e-mailed: switching them off is refused with 400. Marketing is "
        "not a notice category: it follows your consents (`/api/v1/consent/`).",
        request=PreferencesUpdateSerializer,
        responses={200: PreferenceSerializer(many=True), **INPUT_ERRORS, **ERRORS},
    )
    def patch(self, request: Request) -> Response:
        serializer = PreferencesUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = services.preferences_update(
            user=_user(request), choices=serializer.validated_data
        )
        return Response(PreferenceSerializer(updated, many=True).data)


# Included in config/api.py under /api/v1/. The fixed paths come before the message id's.
urlpatterns = [
    path("inbox/", MessageListView.as_view(), name="inbox"),
    path("inbox/read-all/", ReadAllView.as_view(), name="inbox-read-all"),
    path("inbox/preferences/", PreferencesView.as_view(), name="inbox-preferences"),
    path("inbox/<int:pk>/", MessageDetailView.as_view(), name="inbox-message"),
    path("inbox/<int:pk>/read/", MessageReadView.as_view(), name="inbox-message-read"),
    path("inbox/<int:pk>/unread/", MessageUnreadView.as_view(), name="inbox-message-unread"),
    path("inbox/<int:pk>/archive/", MessageArchiveView.as_view(), name="inbox-message-archive"),
    path(
        "inbox/<int:pk>/unarchive/",
        MessageUnarchiveView.as_view(),
        name="inbox-message-unarchive",
    ),
    path("inbox/<int:pk>/respond/", MessageRespondView.as_view(), name="inbox-message-respond"),
]
