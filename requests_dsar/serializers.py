"""The requests API's shapes: a request as its requester sees it, a new request, messages, codes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.services import PROFILE_EDITABLE_FIELDS
from core.api_fields import ModelSerializer, StrictCharField, StrictRegexField
from core.registry import registry

from . import systems
from .corrections import MAX_CHANGES, MAX_PROPOSAL_LENGTH, STAFF_CORRECTABLE
from .models import (
    DETAILS_MAX_LENGTH,
    DataSubjectRequest,
    DenialReason,
    LegalExemption,
    RequestMessage,
    RequestType,
    VerificationMethod,
)
from .workflow import can_cancel


# How far a request got at the connected systems (systems.RequestProgress): the
# requester's `systems` and the staff API's progress alike.
class SystemProgressSerializer(serializers.Serializer):
    system_id = serializers.IntegerField()
    system = StrictCharField()
    status = StrictCharField(
        help_text="queued, sent, waiting, done, failed, excepted or not_applicable."
    )
    status_label = StrictCharField()


class RequestProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Systems in the request's scope.")
    settled = serializers.IntegerField(help_text="Of them, done or excepted.")
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    complete = serializers.BooleanField()
    text = StrictCharField(help_text='e.g. "3 of 4 systems done".')
    systems = SystemProgressSerializer(many=True)


class RequestSerializer(ModelSerializer):
    reference = serializers.SerializerMethodField(help_text="Short reference quoted in e-mails.")
    type_label = StrictCharField(source="get_type_display", read_only=True)
    status_label = StrictCharField(source="get_status_display", read_only=True)
    days_left = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Whole days until the deadline; null before verification and once closed.",
    )
    clock_paused = serializers.SerializerMethodField(
        help_text="True while we wait for the requester's answer: the deadline does not run."
    )
    can_cancel = serializers.SerializerMethodField()
    systems = serializers.SerializerMethodField(
        help_text="How far the request got at the company's other systems holding personal "
        "data (connected systems)."
    )
    # Empty until they apply: "" is part of each enum.
    verification_method = serializers.ChoiceField(
        choices=VerificationMethod.choices, allow_blank=True, read_only=True
    )
    denial_reason = serializers.ChoiceField(
        choices=DenialReason.choices, allow_blank=True, read_only=True
    )
    legal_exemption = serializers.ChoiceField(
        choices=LegalExemption.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = DataSubjectRequest
        fields = [
            "public_id",
            "reference",
            "type",
            "type_label",
            "status",
            "status_label",
            "details",
            "scope",
            "received_at",
            "verified_at",
            "verification_method",
            "due_at",
            "days_left",
            "clock_paused",
            "extension_reason",
            "act_after",
            "completed_at",
            "denial_reason",
            "legal_exemption",
            "denial_note",
            "can_cancel",
            "systems",
        ]
        read_only_fields = fields

    def get_reference(self, obj: DataSubjectRequest) -> str:
        return obj.reference

    def get_clock_paused(self, obj: DataSubjectRequest) -> bool:
        return obj.is_open and obj.paused_at is not None

    def get_can_cancel(self, obj: DataSubjectRequest) -> bool:
        return can_cancel(obj)

    @extend_schema_field(RequestProgressSerializer)
    def get_systems(self, obj: DataSubjectRequest) -> dict[str, Any]:
        return RequestProgressSerializer(systems.progress(obj)).data


class ChangeSerializer(serializers.Serializer):
    field = serializers.ChoiceField(
        choices=[*PROFILE_EDITABLE_FIELDS, *STAFF_CORRECTABLE],
        help_text="A profile field (applied at once), or data only staff can change "
        "(`email`, `login_history`, `access_log`, `other`: describe the correction).",
    )
    value = StrictCharField(max_length=MAX_PROPOSAL_LENGTH, allow_blank=True)


class ScopeSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),  # the registry's, once the apps are loaded
        required=False,
        min_length=1,
        max_length=100,
        help_text="Categories of data (see the personal-data registry); leave out for all. "
        "A deletion cannot name `account`: the account goes only with everything.",
    )
    changes = serializers.ListField(
        child=ChangeSerializer(),
        required=False,
        min_length=1,
        max_length=MAX_CHANGES,
        help_text="For `correct` and `supplement`: each field of the profile and its new value.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["categories"].child.choices = registry.requestable_categories()  # type: ignore[attr-defined]
        return fields


class RequestCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=RequestType.choices)
    details = StrictCharField(
        max_length=DETAILS_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Free text; required for a question or a complaint.",
    )
    scope = ScopeSerializer(required=False)


class MessageSerializer(ModelSerializer):
    body = StrictCharField(max_length=DETAILS_MAX_LENGTH)

    class Meta:
        model = RequestMessage
        fields = ["id", "from_staff", "body", "created_at"]
        read_only_fields = ["id", "from_staff", "created_at"]


class CodeSerializer(serializers.Serializer):
    code = StrictRegexField(
        r"^[0-9]{6}$",
        help_text="The six digits e-mailed to the account.",
        error_messages={"invalid": "Give the six digits of the code we e-mailed, nothing else."},
    )


class DetailSerializer(serializers.Serializer):
    detail = StrictCharField()


class CodeResultSerializer(serializers.Serializer):
    detail = StrictCharField()
    result = serializers.ChoiceField(
        choices=["invalid", "wrong", "expired", "locked"],
        help_text="invalid: not six digits; wrong: not the code we sent; expired or locked: "
        "ask for a new one.",
    )
