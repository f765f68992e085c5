"""Rows of an export archive shown as a table a person can read: labels, not field names."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core.registry import registry


def _choices_by_field(category: str) -> dict[str, dict[str, str]]:
    """For fields with choices (gender, education, country): code -> its human label."""
    found: dict[str, dict[str, str]] = {}
    for entry in registry:
        if entry.category != category:
            continue
        for name in entry.fields:
            try:
                field = entry.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            choices = getattr(field, "flatchoices", None)
            if choices:
                found[name] = {str(value): str(label) for value, label in choices}
    return found


def _when(text: str) -> str | None:
    """An ISO date or date-time written by the exporter, in the portal's words; else None."""
    if len(text) < 10 or text[4:5] != "-" or text[7:8] != "-":
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) == 10:
        return formats.date_format(moment.date(), "j M Y")
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "j M Y, H:i")


def cell(value: Any, choices: dict[str, str] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    if choices and text in choices:
        return choices[text]
    return _when(text) or text


def category_table(
    category: str, rows: list[dict[str, Any]]
) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """(column labels, rows of (label, shown value)) for rows of one category."""
    labels = {
        name: str(label)
        for entry in registry
        if entry.category == category
        for name, label in entry.fields.items()
    }
    choices = _choices_by_field(category)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    columns = [labels.get(key, key) for key in keys]
    shown = [
        [(labels.get(key, key), cell(row.get(key), choices.get(key))) for key in keys]
        for row in rows
    ]
    return columns, shown
