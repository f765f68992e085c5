from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from allauth.usersessions.models import UserSession
from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from .models import LoginEvent, Profile, User, validate_birth_date


class AccountSerializer(serializers.ModelSerializer):
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


class ProfileSerializer(serializers.ModelSerializer):
    region = CountryField(allow_blank=True, required=False)
    birth_date = serializers.DateField(
        allow_null=True, required=False, validators=[validate_birth_date]
    )

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


class LoginEventSerializer(serializers.ModelSerializer):
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


class UserSessionSerializer(serializers.ModelSerializer):
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "created_at", "last_seen_at", "ip", "user_agent", "is_current"]
        read_only_fields = fields

    def get_is_current(self, session: UserSession) -> bool:
        request = self.context["request"]
        return session.session_key == getattr(request.session, "session_key", None)
