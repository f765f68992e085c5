from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.models import UserSession
from django.utils import timezone
from django_countries.serializer_fields import CountryField
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from core.api_docs import date_range_pattern
from core.api_fields import ModelSerializer, TextOnly

from .models import OLDEST_PLAUSIBLE_AGE_YEARS, LoginEvent, Profile, User, validate_birth_date


class BirthDateField(serializers.DateField):
    """A date of birth: not in the future, nor before January of the year 125 years ago."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(validators=[validate_birth_date], **kwargs)  # type: ignore[arg-type]


class BirthDateFieldSchema(OpenApiSerializerFieldExtension):
    """The schema says the range, as of the day it is served."""

    target_class = BirthDateField

    def map_serializer_field(self, auto_schema: object, direction: object) -> dict[str, object]:
        today = timezone.localdate()
        earliest = today.replace(year=today.year - OLDEST_PLAUSIBLE_AGE_YEARS, month=1, day=1)
        return {
            "type": "string",
            "format": "date",
            "pattern": date_range_pattern(earliest, today),
            "description": f"From {earliest.isoformat()} to today.",
        }


class AccountSerializer(ModelSerializer):
    mfa_enabled = serializers.SerializerMethodField()
    linked_providers = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "date_joined", "mfa_enabled", "linked_providers"]
        read_only_fields = fields

    def get_mfa_enabled(self, user: User) -> bool:
        return Authenticator.objects.filter(user=user).exists()

    def get_linked_providers(self, user: User) -> list[str]:
        return sorted(SocialAccount.objects.filter(user=user).values_list("provider", flat=True))


class RegionField(TextOnly, CountryField):
    """A country code, or "" for none: a string only (django-countries also takes objects)."""


class ProfileSerializer(ModelSerializer):
    region = RegionField(allow_blank=True, required=False)
    birth_date = BirthDateField(allow_null=True, required=False)

    class Meta:
        model = Profile
        fields = [
            "name",
            "nickname",
            "occupation",
            "signature",
            "gender",
            "birth_date",
            "region",
            "education",
            "bio",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class LoginEventSerializer(ModelSerializer):
    class Meta:
        model = LoginEvent
        fields = [
            "id",
            "created_at",
            "ip_address",
            "device",
            "browser",
            "operating_system",
            "method",
            "provider",
        ]
        read_only_fields = fields


class UserSessionSerializer(ModelSerializer):
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "created_at", "last_seen_at", "ip", "user_agent", "is_current"]
        read_only_fields = fields

    def get_is_current(self, session: UserSession) -> bool:
        request = self.context["request"]
        return session.session_key == getattr(request.session, "session_key", None)
