"""The API's OpenAPI schema: the error answers every endpoint names alike, and what the fields'
JSON types cannot say (text patterns, date ranges, a serializer's extra schema keys)."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse

ERRORS = {
    401: OpenApiResponse(description="Not signed in."),
    403: OpenApiResponse(description="Not allowed."),
}
INPUT_ERRORS = {
    400: OpenApiResponse(description="Invalid input; the body names each field's problem."),
    415: OpenApiResponse(description="Only application/json is accepted."),
}


def not_found(description: str) -> dict[int, OpenApiResponse]:
    """The 404 of an endpoint that looks up one of the caller's own objects."""
    return {404: OpenApiResponse(description=description)}


# --- What a field's JSON type cannot say -------------------------------------------------------

# Every text field refuses the NUL character (DRF's validator): the schema says so, or a client
# generating from it would send what the server must refuse. (Lone surrogates, refused too,
# cannot be written in the regular expressions validators share; no text generator makes them.)
TEXT = "[^\\x00]"
# Text fields trim surrounding white space; one that may not be blank needs more than that.
TEXT_PATTERN = f"^{TEXT}*$"
NON_BLANK_TEXT_PATTERN = f"^{TEXT}*[^\\s\\x00]{TEXT}*$"


def date_range_pattern(low: datetime.date, high: datetime.date) -> str:
    """A regular expression matching exactly the ISO dates from `low` to `high`, inclusive.

    JSON Schema cannot bound a `format: date` string; ISO dates sort as text, so a range of
    fixed-width strings does it (with `format: date` ruling out days such as 2001-02-30).
    """
    return f"^{_text_range(low.isoformat(), high.isoformat())}$"


def _text_range(low: str, high: str) -> str:
    """Strings of the same shape as `low` and `high` (digits, and dashes where both have them)
    between the two, inclusive."""
    if low == high:
        return low
    if set(low) <= {"0", "-"} and set(high) <= {"9", "-"}:
        return "".join("[0-9]" if c.isdigit() else c for c in low)  # every string of the shape
    if low[0] == high[0]:
        return low[0] + _text_range(low[1:], high[1:])
    lowest, highest = int(low[0]), int(high[0])
    rest_top = "".join("9" if c.isdigit() else c for c in low[1:])
    rest_bottom = "".join("0" if c.isdigit() else c for c in high[1:])
    anything = "".join("[0-9]" if c.isdigit() else c for c in low[1:])
    parts = [low[0] + _text_range(low[1:], rest_top)]
    if highest - lowest > 1:
        parts.append(f"[{lowest + 1}-{highest - 1}]{anything}")
    parts.append(high[0] + _text_range(rest_bottom, high[1:]))
    return "(?:" + "|".join(parts) + ")"


class SchemaExtra:
    """A serializer mixin: `schema_extra` is merged into the serializer's schema component, for
    what its fields cannot say (`minProperties`, `additionalProperties`)."""

    schema_extra: ClassVar[dict[str, Any]] = {}


class SchemaExtraExtension(OpenApiSerializerExtension):
    target_class = SchemaExtra
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, **self.target.schema_extra}


def _text_patterns(schema: Any) -> None:
    """Give every plain text field of a schema (nested ones too) the pattern of what it takes."""
    if isinstance(schema, list):
        for item in schema:
            _text_patterns(item)
        return
    if not isinstance(schema, dict):
        return
    if (
        schema.get("type") == "string"
        and not schema.get("readOnly")
        and not {"format", "enum", "pattern"} & schema.keys()
    ):
        schema["pattern"] = NON_BLANK_TEXT_PATTERN if schema.get("minLength") else TEXT_PATTERN
    for value in schema.values():
        _text_patterns(value)


def postprocess_text_patterns(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: the text patterns on request bodies and parameters."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _text_patterns(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    _text_patterns(parameter.get("schema"))
    return result


def _needs_a_body(schema: Any, schemas: dict[str, Any]) -> bool:
    """Whether an empty request (no body) would be refused: some field is required, at least one
    property must be given, or the body is one of several shapes."""
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _needs_a_body(schemas.get(ref.rsplit("/", 1)[-1]), schemas)
    return bool(schema.get("required") or schema.get("minProperties") or schema.get("oneOf"))


def postprocess_required_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: a request body the server cannot do without is marked required
    (drf-spectacular leaves a PATCH's, and a body of several shapes, optional)."""
    schemas = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            content = body.get("content", {}).get("application/json", {})
            if _needs_a_body(content.get("schema"), schemas):
                body["required"] = True
    return result
