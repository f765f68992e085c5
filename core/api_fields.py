"""The API's input fields, as strict as its schema: a string only as a string, a boolean only
as true or false, an integer only as a JSON integer.

DRF's fields coerce (`{"bio": 0}` saves "0", `{"email": 0}` means false), although the schema
says `type: string` or `type: boolean`: a client sending the wrong type has a bug the answer
should show, not hide. Every serializer of the API declares these with the strict fields here
and derives model fields through `ModelSerializer`, which maps the columns onto them.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

NOT_TEXT = _("Give text here, in quotes: not a number, list or object.")


NOT_TRUE_OR_FALSE = _("Give true or false, without quotes.")
NOT_A_WHOLE_NUMBER = _("Give a whole number, without quotes.")


class TextOnly:
    """A field mixin: the value must be a JSON string."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError(NOT_TEXT, code="invalid")
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictBooleanField(serializers.BooleanField):
    """true or false: not 0, 1, "yes" or "true" (DRF's BooleanField takes each of them)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError(NOT_TRUE_OR_FALSE, code="invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not "5", 5.0 or true (DRF's IntegerField takes each of them)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(NOT_A_WHOLE_NUMBER, code="invalid")
        return super().to_internal_value(data)


class StrictCharField(TextOnly, serializers.CharField):
    pass


class StrictEmailField(TextOnly, serializers.EmailField):
    pass


class StrictURLField(TextOnly, serializers.URLField):
    pass


class StrictSlugField(TextOnly, serializers.SlugField):
    pass


class StrictRegexField(TextOnly, serializers.RegexField):
    pass


class ModelSerializer(serializers.ModelSerializer):
    """DRF's, with text columns taken as text only."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.URLField: StrictURLField,
        models.SlugField: StrictSlugField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
    }


class QuerySerializer(serializers.Serializer):
    """Query parameters, as strict as the schema: a parameter given has a value (DRF takes
    `?status=` as absent), once, and a boolean is `true` or `false` (DRF also takes 1, yes, on)."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist") or isinstance(data, dict):
            for name, field in self.fields.items():
                if hasattr(data, "getlist"):
                    values = data.getlist(name)
                else:  # a QueryDict's .dict(): its last value of each
                    values = [data[name]] if name in data else []
                problem = ""
                if len(values) > 1:
                    problem = "Give this parameter once."
                elif values and values[0] == "":
                    problem = "Give a value, or leave the parameter out."
                elif values and isinstance(field, serializers.BooleanField):
                    problem = "" if values[0] in ("true", "false") else "Give true or false."
                if problem:
                    raise serializers.ValidationError({name: [problem]})
        return super().to_internal_value(data)
