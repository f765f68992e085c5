"""The inbox API's shapes: a message, the list's filters, an answer, the e-mail preferences."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api_docs import SchemaExtra
from core.api_fields import ModelSerializer, QuerySerializer, StrictBooleanField, StrictCharField

from .models import MANDATORY_CATEGORIES, Category, EmailState, Message, Response


class InboxMessageSerializer(ModelSerializer):
    category_label = StrictCharField(source="get_category_display", read_only=True)
    is_read = serializers.BooleanField(read_only=True)
    is_archived = serializers.SerializerMethodField()
    link = StrictCharField(
        read_only=True, help_text="Where the notice leads: a path on this site, or empty."
    )
    email_state = serializers.ChoiceField(
        choices=EmailState.choices,
        read_only=True,
        help_text="Whether this notice was also e-mailed to you.",
    )
    requires_response = serializers.BooleanField(
        read_only=True, help_text="The notice asks you to accept or object (`respond/`)."
    )
    # Empty until answered: "" is part of the enum.
    response = serializers.ChoiceField(choices=Response.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "category",
            "category_label",
            "title",
            "body",
            "link",
            "created_at",
            "is_read",
            "read_at",
            "is_archived",
            "archived_at",
            "email_state",
            "requires_response",
            "response",
            "responded_at",
        ]
        read_only_fields = fields

    def get_is_archived(self, obj: Message) -> bool:
        return obj.archived_at is not None


class InboxQuerySerializer(QuerySerializer):
    archived = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: the archived messages; false (the default): the inbox.",
    )
    unread = serializers.BooleanField(
        required=False,
        help_text="true: only unread messages; false: only read ones; leave out for both.",
    )
    category = serializers.ChoiceField(
        choices=Category.choices, required=False, help_text="Only messages of this category."
    )


class RespondSerializer(serializers.Serializer):
    response = serializers.ChoiceField(
        choices=Response.choices,
        error_messages={"invalid_choice": "Answer “accepted” or “objected”."},
    )


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many messages were unread and now are read.")


class PreferenceSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    category_label = StrictCharField(source="label")
    email = serializers.BooleanField(help_text="Whether notices of this category are e-mailed.")
    mandatory = serializers.BooleanField(
        help_text="Always e-mailed: security incidents and request updates cannot be switched off."
    )


@extend_schema_field({"type": "boolean", "enum": [True]})
class AlwaysOnField(StrictBooleanField):
    """A mandatory category: may be named, as true only (the service says why not false)."""


class PreferencesUpdateSerializer(SchemaExtra, serializers.Serializer):
    """`{"<category>": true | false, ...}`: any of the categories; the others stay as they are."""

    # At least one category, and only categories: anything else is refused, as the schema says.
    schema_extra = {"minProperties": 1, "additionalProperties": False}

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            value: (AlwaysOnField if value in MANDATORY_CATEGORIES else StrictBooleanField)(
                required=False,
                help_text=f"E-mail me about: {str(label).lower()}."
                + (
                    " Always on: it cannot be switched off."
                    if value in MANDATORY_CATEGORIES
                    else ""
                ),
            )
            for value, label in Category.choices
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        raw = self.initial_data if isinstance(self.initial_data, dict) else {}
        if any(key not in Category.values for key in raw):
            raise serializers.ValidationError(
                f"Unknown notice category: choose from {', '.join(Category.values)}."
            )
        if not attrs:
            raise serializers.ValidationError("Name at least one category to change.")
        return attrs
