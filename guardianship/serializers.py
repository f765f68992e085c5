"""Shapes of the guardian API: the minors in one's care, a minor's data, consents and requests."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import selectors
from accounts.serializers import LoginEventSerializer, ProfileSerializer
from consent.models import ConsentActor, ConsentEvent, Decision, LegalBasis, Method
from consent.selectors import PurposeStatus
from consent.serializers import USER_DECISION_CHOICES
from core.api_fields import ModelSerializer, StrictCharField, StrictEmailField
from guardianship.access import GUARDIAN_REQUEST_TYPES, display_name
from guardianship.models import Guardianship
from requests_dsar.models import RequestType
from requests_dsar.serializers import (
    DataRequestCreateSerializer,
    DeletionCreateSerializer,
    type_field,
)

RECENT_LOGINS = 5


class GuardianMinorSerializer(serializers.Serializer):
    """One minor in the guardian's care, as listed."""

    id = serializers.IntegerField(source="minor_id", help_text="The minor's user id.")
    name = serializers.SerializerMethodField(help_text="Their name, nickname or e-mail address.")
    email = StrictEmailField(source="minor.email")
    adult_on = serializers.DateField(
        source="minor.minor_account.adult_on",
        help_text="The day they decide alone: the guardianship ends then.",
    )
    approved_at = serializers.DateTimeField(allow_null=True, help_text="When you approved.")

    def get_name(self, guardianship: Guardianship) -> str:
        return display_name(guardianship.minor)


class GuardianMinorDetailSerializer(GuardianMinorSerializer):
    """A minor's data as their own dashboard shows it: account, profile, recent sign-ins."""

    date_joined = serializers.DateTimeField(source="minor.date_joined")
    mfa_enabled = serializers.SerializerMethodField()
    linked_providers = serializers.SerializerMethodField()
    profile = serializers.SerializerMethodField()
    recent_logins = serializers.SerializerMethodField()

    def get_mfa_enabled(self, guardianship: Guardianship) -> bool:
        return Authenticator.objects.filter(user_id=guardianship.minor_id).exists()

    def get_linked_providers(self, guardianship: Guardianship) -> list[str]:
        return sorted(
            SocialAccount.objects.filter(user_id=guardianship.minor_id).values_list(
                "provider", flat=True
            )
        )

    @extend_schema_field(ProfileSerializer)
    def get_profile(self, guardianship: Guardianship) -> Any:
        return ProfileSerializer(selectors.profile_for(guardianship.minor)).data

    @extend_schema_field(LoginEventSerializer(many=True))
    def get_recent_logins(self, guardianship: Guardianship) -> Any:
        logins = selectors.login_history_for(guardianship.minor)[:RECENT_LOGINS]
        return LoginEventSerializer(logins, many=True).data


class GuardianConsentEventSerializer(ModelSerializer):
    id = serializers.UUIDField(source="uuid")
    purpose = StrictCharField(source="purpose.key")
    decision = serializers.ChoiceField(choices=Decision.choices)
    method = serializers.ChoiceField(choices=Method.choices)
    actor = serializers.ChoiceField(
        choices=ConsentActor.choices, help_text="`self` is the minor; `guardian` a guardian."
    )
    policy_version = serializers.SerializerMethodField()

    class Meta:
        model = ConsentEvent
        fields = ["id", "purpose", "decision", "method", "actor", "policy_version", "created_at"]

    def get_policy_version(self, event: ConsentEvent) -> str | None:
        return event.policy_version.version if event.policy_version else None


class GuardianConsentStateSerializer(serializers.Serializer):
    """Where one purpose offered to the minor stands."""

    purpose = StrictCharField(source="purpose.key")
    name = StrictCharField(source="purpose.name")
    description = StrictCharField(source="purpose.description")
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices, source="purpose.legal_basis")
    optional = serializers.BooleanField(
        source="purpose.is_optional", help_text="Only optional purposes can be given and withdrawn."
    )
    allowed = serializers.BooleanField(help_text="Whether the purpose may be processed now.")
    decision = serializers.ChoiceField(
        choices=Decision.choices, allow_null=True, help_text="The last decision; null if none."
    )
    actor = serializers.SerializerMethodField(
        help_text="Who made the last decision: `self` (the minor) or `guardian`; null if none."
    )
    decided_at = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.ChoiceField(choices=ConsentActor.choices, allow_null=True)  # type: ignore[arg-type]
    )
    def get_actor(self, status: PurposeStatus) -> str | None:
        return status.event.actor if status.event else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))  # type: ignore[arg-type]
    def get_decided_at(self, status: PurposeStatus) -> str | None:
        return status.event.created_at.isoformat() if status.event else None


class GuardianConsentDecisionSerializer(serializers.Serializer):
    purpose = serializers.SlugField(max_length=50, help_text="The purpose's key.")
    decision = serializers.ChoiceField(
        choices=USER_DECISION_CHOICES,
        help_text="`given`, `withdrawn`, or `refused` (declining a purpose offered to them).",
    )


class GuardianConsentChangeSerializer(serializers.Serializer):
    state = GuardianConsentStateSerializer()
    event = GuardianConsentEventSerializer(
        allow_null=True, help_text="The event just recorded; null when nothing changed."
    )


class GuardianCopyCreateSerializer(DataRequestCreateSerializer):
    type = type_field([RequestType.COPY])


# A guardian may ask for a copy of a minor's data or its deletion, in the requests' own shapes.
GUARDIAN_REQUEST_SHAPES: dict[str, type[serializers.Serializer]] = {
    RequestType.COPY: GuardianCopyCreateSerializer,
    RequestType.DELETE: DeletionCreateSerializer,
}
assert set(GUARDIAN_REQUEST_SHAPES) == set(GUARDIAN_REQUEST_TYPES)
