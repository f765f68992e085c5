"""Serializers of the consent API: purposes, one's states and events, and the service check."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api_fields import ModelSerializer, QuerySerializer, StrictCharField
from core.models import MAX_ID

from .models import ConsentActor, ConsentEvent, Decision, LegalBasis, Method, Purpose, ThirdParty
from .selectors import CheckResult, PurposeStatus

# The longest purpose key a check accepts.
CHECK_KEY_MAX_LENGTH = 50
# A batch check asks at most this many (user, purpose) pairs.
MAX_CHECK_PAIRS = 1000
# What a user may decide; named in SPECTACULAR_SETTINGS. (`expired` is kept for a system rule
# of consent expiry; no such rule exists yet, so no event records it.)
USER_DECISION_CHOICES = [
    (d.value, d.label) for d in (Decision.GIVEN, Decision.WITHDRAWN, Decision.REFUSED)
]


def receipt_path(event_uuid: object) -> str:
    return reverse("api:consent-receipt", args=[event_uuid])


class ThirdPartySerializer(ModelSerializer):
    class Meta:
        model = ThirdParty
        fields = ["key", "name", "description", "privacy_policy_url"]


class PurposeSerializer(ModelSerializer):
    legal_basis_label = StrictCharField(source="get_legal_basis_display")
    optional = serializers.BooleanField(
        source="is_optional", help_text="Only optional purposes can be given and withdrawn."
    )
    pii_categories = serializers.ListField(child=StrictCharField())
    third_parties = serializers.SerializerMethodField()

    class Meta:
        model = Purpose
        fields = [
            "key",
            "name",
            "description",
            "legal_basis",
            "legal_basis_label",
            "optional",
            "pii_categories",
            "third_parties",
        ]

    @extend_schema_field(ThirdPartySerializer(many=True))
    def get_third_parties(self, purpose: Purpose) -> Any:
        return ThirdPartySerializer(
            [t for t in purpose.third_parties.all() if t.active], many=True
        ).data


class ConsentStateSerializer(serializers.Serializer):
    """Where one purpose stands for the signed-in user."""

    purpose = StrictCharField(source="purpose.key")
    name = StrictCharField(source="purpose.name")
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices, source="purpose.legal_basis")
    optional = serializers.BooleanField(source="purpose.is_optional")
    allowed = serializers.BooleanField(help_text="Whether the purpose may be processed now.")
    decision = serializers.ChoiceField(
        choices=Decision.choices, allow_null=True, help_text="Your last decision; null if none."
    )
    event = serializers.SerializerMethodField(help_text="The event the state rests on.")
    decided_at = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()

    def get_event(self, status: PurposeStatus) -> str | None:
        return str(status.event.uuid) if status.event else None

    def get_decided_at(self, status: PurposeStatus) -> str | None:
        return status.event.made_at.isoformat() if status.event else None

    def get_receipt_url(self, status: PurposeStatus) -> str | None:
        return receipt_path(status.event.uuid) if status.event else None


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=USER_DECISION_CHOICES,
        help_text="`given`, `withdrawn`, or `refused` (declining a purpose you were offered).",
    )


class ConsentEventSerializer(ModelSerializer):
    id = serializers.UUIDField(source="uuid")
    purpose = StrictCharField(source="purpose.key")
    decision = serializers.ChoiceField(choices=Decision.choices)
    method = serializers.ChoiceField(choices=Method.choices)
    actor = serializers.ChoiceField(choices=ConsentActor.choices)
    policy_version = serializers.SerializerMethodField()
    receipt_url = serializers.SerializerMethodField()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "purpose",
            "decision",
            "method",
            "actor",
            "policy_version",
            "created_at",
            "decided_at",
            "receipt_url",
        ]

    def get_policy_version(self, event: ConsentEvent) -> str | None:
        return event.policy_version.version if event.policy_version else None

    def get_receipt_url(self, event: ConsentEvent) -> str:
        return receipt_path(event.uuid)


class ConsentChangeSerializer(serializers.Serializer):
    state = ConsentStateSerializer()
    event = ConsentEventSerializer(
        allow_null=True, help_text="The event just recorded; null when nothing changed."
    )


# --- The service check ----------------------------------------------------------------------------


class UserIdField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class CheckQuerySerializer(QuerySerializer):
    user = UserIdField(help_text="The user's id.")
    purpose = serializers.SlugField(max_length=CHECK_KEY_MAX_LENGTH, help_text="The purpose's key.")


class CheckBatchSerializer(serializers.Serializer):
    users = serializers.ListField(child=UserIdField(), min_length=1, max_length=MAX_CHECK_PAIRS)
    purposes = serializers.ListField(
        child=serializers.SlugField(max_length=50), min_length=1, max_length=MAX_CHECK_PAIRS
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["users"] = list(dict.fromkeys(attrs["users"]))
        attrs["purposes"] = list(dict.fromkeys(attrs["purposes"]))
        pairs = len(attrs["users"]) * len(attrs["purposes"])
        if pairs > MAX_CHECK_PAIRS:
            raise serializers.ValidationError(
                f"At most {MAX_CHECK_PAIRS} (user, purpose) pairs per request; this asks {pairs}."
            )
        return attrs


class CheckResultSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    purpose = StrictCharField(source="purpose.key")
    allowed = serializers.BooleanField()
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices, source="purpose.legal_basis")
    reason = StrictCharField()
    decision = serializers.ChoiceField(
        choices=Decision.choices, allow_null=True, help_text="The user's last decision, if any."
    )
    event = StrictCharField(
        source="event_uuid", allow_null=True, help_text="The ledger event the answer rests on."
    )


def check_result_data(result: CheckResult) -> dict[str, Any]:
    """What CheckResultSerializer gives for `result`, built directly: the check API answers
    thousands of these a second, and a serializer costs more than the answer (a test keeps
    the two the same)."""
    return {
        "user": result.user_id,
        "purpose": result.purpose.key,
        "allowed": result.allowed,
        "legal_basis": result.purpose.legal_basis,
        "reason": result.reason,
        "decision": result.decision,
        "event": result.event_uuid,
    }


class CheckBatchResultSerializer(serializers.Serializer):
    results = CheckResultSerializer(many=True)
    unknown_users = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids asked about that match no user: treat them as denied.",
    )
