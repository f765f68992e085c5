"""The requests API's shapes: a request as its requester sees it, a new request, messages, codes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.services import PROFILE_EDITABLE_FIELDS

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
    system = serializers.CharField()
    status = serializers.CharField(
        help_text="queued, sent, waiting, done, failed, excepted or not_applicable."
    )
    status_label = serializers.CharField()


class RequestProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Systems in the request's scope.")
    settled = serializers.IntegerField(help_text="Of them, done or excepted.")
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()
    complete = serializers.BooleanField()
    text = serializers.CharField(help_text='e.g. "3 of 4 systems done".')
    systems = SystemProgressSerializer(many=True)


class RequestSerializer(serializers.ModelSerializer):
    reference = serializers.SerializerMethodField(help_text="Short reference quoted in e-mails.")
    type_label = serializers.CharField(source="get_type_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
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
    value = serializers.CharField(max_length=MAX_PROPOSAL_LENGTH, allow_blank=True)


class ScopeSerializer(serializers.Serializer):
    categories = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        min_length=1,
        max_length=100,
        help_text="Categories of data (see the personal-data registry); leave out for all.",
    )
    changes = serializers.ListField(
        child=ChangeSerializer(),
        required=False,
        min_length=1,
        max_length=MAX_CHANGES,
        help_text="For `correct` and `supplement`: each field of the profile and its new value.",
    )


class RequestCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=RequestType.choices)
    details = serializers.CharField(
        max_length=DETAILS_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Free text; required for a question or a complaint.",
    )
    scope = ScopeSerializer(required=False)


class MessageSerializer(serializers.ModelSerializer):
    body = serializers.CharField(max_length=DETAILS_MAX_LENGTH)

    class Meta:
        model = RequestMessage
        fields = ["id", "from_staff", "body", "created_at"]
        read_only_fields = ["id", "from_staff", "created_at"]


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, help_text="The six digits e-mailed to the account.")


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CodeResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    result = serializers.ChoiceField(choices=["wrong", "expired", "locked"])
