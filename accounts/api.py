"""/api/v1/me/...: the signed-in user's own account, profile, logins and sessions."""

from __future__ import annotations

from typing import cast

from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core import api_docs
from core.api_docs import ERRORS

from . import selectors, services
from .models import User
from .serializers import (
    AccountSerializer,
    LoginEventSerializer,
    ProfileSerializer,
    UserSessionSerializer,
)


def _user(request: Request) -> User:
    """The signed-in user; every view here requires authentication (the default permission)."""
    return cast(User, request.user)


INPUT_ERRORS = {**ERRORS, **api_docs.INPUT_ERRORS}


@extend_schema(tags=["account"], responses={200: AccountSerializer, **ERRORS})
class AccountView(generics.RetrieveAPIView):
    serializer_class = AccountSerializer

    def get_object(self):  # type: ignore[no-untyped-def]
        return _user(self.request)


@extend_schema(tags=["account"])
class ProfileView(generics.RetrieveUpdateAPIView):
    serializer_class = ProfileSerializer

    def get_object(self):  # type: ignore[no-untyped-def]
        return selectors.profile_for(_user(self.request))

    @extend_schema(responses={200: ProfileSerializer, **ERRORS})
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(responses={200: ProfileSerializer, **INPUT_ERRORS})
    def put(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().put(request, *args, **kwargs)

    @extend_schema(responses={200: ProfileSerializer, **INPUT_ERRORS})
    def patch(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().patch(request, *args, **kwargs)

    def perform_update(self, serializer: ProfileSerializer) -> None:  # type: ignore[override]
        data = {k: v for k, v in serializer.validated_data.items() if k != "updated_at"}
        try:
            serializer.instance = services.profile_update(
                user=_user(self.request), actor=_user(self.request), data=data
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc


@extend_schema(tags=["account"], responses={200: LoginEventSerializer(many=True), **ERRORS})
class LoginHistoryView(generics.ListAPIView):
    serializer_class = LoginEventSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.login_history_for(_user(self.request))


@extend_schema(tags=["account"], responses={200: UserSessionSerializer(many=True), **ERRORS})
class SessionListView(generics.ListAPIView):
    serializer_class = UserSessionSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return UserSession.objects.filter(user=_user(self.request)).order_by("-last_seen_at")


@extend_schema(
    tags=["account"],
    responses={
        204: OpenApiResponse(description="The session is signed out."),
        404: OpenApiResponse(description="No such session of yours."),
        **ERRORS,
    },
)
class SessionEndView(generics.GenericAPIView):
    serializer_class = UserSessionSerializer

    def delete(self, request: Request, session_id: int) -> Response:
        if not services.user_session_end(user=_user(request), session_id=session_id):
            raise NotFound("No such session of yours.")
        return Response(status=status.HTTP_204_NO_CONTENT)
