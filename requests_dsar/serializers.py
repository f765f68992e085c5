"""The requests API's shapes: a request as its requester sees it, a new request, messages, codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from accounts.serializers import ProfileSerializer
from accounts.services import PROFILE_EDITABLE_FIELDS
from core.api_fields import ModelSerializer, StrictCharField, StrictRegexField
from core.registry import ACCOUNT_CATEGORY, registry

from . import systems
from .corrections import CORRECTION_TYPES, MAX_CHANGES, MAX_PROPOSAL_LENGTH, STAFF_CORRECTABLE
from .models import (
    DETAILS_MAX_LENGTH,
    DataSubjectRequest,
    DenialReason,
    LegalExemption,
    RequestMessage,
    RequestType,
    VerificationMethod,
)
from .workflow import STAFF_ANSWERED, can_cancel


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
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return can_cancel(obj, user if user is not None and user.is_authenticated else None)

    @extend_schema_field(RequestProgressSerializer)
    def get_systems(self, obj: DataSubjectRequest) -> dict[str, Any]:
        return RequestProgressSerializer(systems.progress(obj)).data


class ChangeSerializer(serializers.Serializer):
    """One change of a correction or supplement. A profile field's value is checked as the
    profile API checks it ("" clears the field); data only staff can change takes a
    description. The schema says the same per field (`postprocess_change_schema`)."""

    field = serializers.ChoiceField(
        choices=[*PROFILE_EDITABLE_FIELDS, *STAFF_CORRECTABLE],
        help_text="A profile field (applied at once), or data only staff can change "
        "(`email`, `login_history`, `access_log`, `other`: describe the correction).",
    )
    value = StrictCharField(max_length=MAX_PROPOSAL_LENGTH, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        field, value = attrs["field"], attrs["value"]
        if field in STAFF_CORRECTABLE:
            if not value.strip():
                raise serializers.ValidationError({"value": "Describe the correction."})
        elif value != "":
            try:
                profile_value_fields()[field].run_validation(value)
            except serializers.ValidationError as refused:
                raise serializers.ValidationError({"value": refused.detail}) from refused
        return attrs


def profile_value_fields() -> dict[str, serializers.Field]:
    """The profile API's fields: what a correction's value for each profile field must be."""
    return dict(ProfileSerializer().fields)


def postprocess_change_schema(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook (after the enums are named): a change is one of a profile field with
    a value of that field's kind, as the profile API takes it ("" clears it), or data only staff
    change with a description. Built from the profile's own request schema, so the two agree."""
    schemas = result.get("components", {}).get("schemas", {})
    profile = schemas.get("PatchedProfileRequest", {}).get("properties", {})
    if "ChangeRequest" not in schemas or not profile:
        return result
    variants = []
    for name in PROFILE_EDITABLE_FIELDS:
        value = {k: v for k, v in profile[name].items() if k not in ("nullable", "title")}
        if value.get("format") == "date":
            value = {"oneOf": [value, {"type": "string", "enum": [""]}]}
        variants.append(_change_object([name], value, f"Your profile's {name.replace('_', ' ')}."))
    staff = {"type": "string", "minLength": 1, "maxLength": MAX_PROPOSAL_LENGTH}
    variants.append(
        _change_object(
            list(STAFF_CORRECTABLE), staff, "Data only staff can change: describe the correction."
        )
    )
    schemas["ChangeRequest"] = {"oneOf": variants}
    return result


def _change_object(names: list[str], value: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {"field": {"type": "string", "enum": names}, "value": value},
        "required": ["field", "value"],
    }


class CategoriesScopeSerializer(serializers.Serializer):
    """The categories of data a request is about (leave the scope out for all)."""

    # A deletion cannot name the account: it goes only with everything.
    leaves_out: ClassVar[frozenset[str]] = frozenset()
    not_offered: ClassVar[str] = 'Not a category of your data you can choose: "{input}".'

    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),  # the registry's, once the apps are loaded
        min_length=1,
        max_length=100,
        help_text="Categories of data (see the personal-data registry); leave the scope out "
        "for all.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        child = fields["categories"].child  # type: ignore[attr-defined]
        child.choices = [
            (key, label)
            for key, label in registry.requestable_categories()
            if key not in self.leaves_out
        ]
        child.error_messages["invalid_choice"] = self.not_offered
        return fields


class DeletionScopeSerializer(CategoriesScopeSerializer):
    leaves_out = frozenset({ACCOUNT_CATEGORY})
    not_offered = (
        'Not a category you can delete on its own: "{input}". The account goes only with '
        "everything: leave the categories out to delete it."
    )


class ChangesScopeSerializer(serializers.Serializer):
    changes = serializers.ListField(
        child=ChangeSerializer(),
        min_length=1,
        max_length=MAX_CHANGES,
        help_text="Each piece of information and its new value, each field once.",
    )


def type_field(types: list[str]) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=[(str(t), RequestType(t).label) for t in types])


def _details_field(*, required: bool) -> StrictCharField:
    if required:
        return StrictCharField(max_length=DETAILS_MAX_LENGTH, help_text="What you ask or report.")
    return StrictCharField(
        max_length=DETAILS_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Anything we should know (optional).",
    )


class QuestionCreateSerializer(serializers.Serializer):
    type = type_field(sorted(STAFF_ANSWERED))
    details = _details_field(required=True)


class CorrectionCreateSerializer(serializers.Serializer):
    type = type_field(sorted(CORRECTION_TYPES))
    details = _details_field(required=False)
    scope = ChangesScopeSerializer()


class DeletionCreateSerializer(serializers.Serializer):
    type = type_field([RequestType.DELETE])
    details = _details_field(required=False)
    scope = DeletionScopeSerializer(required=False)


# Requests about the data itself (a copy, a transfer, a restriction...), by categories.
DATA_REQUEST_TYPES = [
    t
    for t in RequestType.values
    if t not in {*STAFF_ANSWERED, *CORRECTION_TYPES, RequestType.DELETE}
]


class DataRequestCreateSerializer(serializers.Serializer):
    type = type_field(DATA_REQUEST_TYPES)
    details = _details_field(required=False)
    scope = CategoriesScopeSerializer(required=False)


REQUEST_CREATE_SHAPES: dict[str, type[serializers.Serializer]] = {
    **{t: QuestionCreateSerializer for t in STAFF_ANSWERED},
    **{t: CorrectionCreateSerializer for t in CORRECTION_TYPES},
    RequestType.DELETE: DeletionCreateSerializer,
    **{t: DataRequestCreateSerializer for t in DATA_REQUEST_TYPES},
}


def create_shape(
    data: Any, shapes: Mapping[str, type[serializers.Serializer]] = REQUEST_CREATE_SHAPES
) -> serializers.Serializer:
    """The serializer of a new request's body: the one of its `type`."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    shape = shapes.get(kind) if isinstance(kind, str) else None
    if shape is None:
        names = sorted(shapes)
        return _UnknownType(data=data, context={"types": names})
    return shape(data=data)


class _UnknownType(serializers.Serializer):
    type = serializers.CharField()

    def validate_type(self, value: str) -> str:
        raise serializers.ValidationError(f"Choose one of: {', '.join(self.context['types'])}.")


def create_schema(
    shapes: Mapping[str, type[serializers.Serializer]] = REQUEST_CREATE_SHAPES,
    name: str = "RequestCreate",
) -> PolymorphicProxySerializer:
    """The request body's schema: one shape per kind of request, told apart by `type`."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers={str(kind): shape for kind, shape in shapes.items()},
        resource_type_field_name="type",
    )


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
