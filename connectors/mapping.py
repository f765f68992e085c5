"""The database connector's mapping: which tables of another database hold the subject's data,
how their rows relate to an identifier, what to export and how to erase each column.

A mapping is JSON or YAML (docs/connector-protocol.md, "Database mappings"; a sample is
examples/product_service/support_mapping.yaml). It is checked here for its shape and names
(`parse_mapping`), and against the target database by db_connector.dry_run. Erasure uses the
strategy names and anonymizers of the portal's own registry (requests_dsar/registry.py), so an
erasure record reads the same for the portal's tables and a connected database's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml
from django.core.exceptions import ValidationError

from core import registry
from core.registry import Anonymizer, Strategy

from .models import Identifier

MAX_MAPPING_CHARS = 100_000
_NAME = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"
_TABLE = r"^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$"

# Anonymizer names a mapping may use -> (factory, takes an argument). The registry's own.
ANONYMIZERS: dict[str, tuple[Callable[..., Anonymizer], bool]] = {
    "null": (registry.null, False),
    "fixed": (registry.fixed, True),
    "fixed_string": (registry.fixed_string, True),
    "erased_email": (registry.erased_email, False),
    "random_string": (registry.random_string, False),
    "hashed": (registry.hashed, False),
    "keyed_hash": (registry.keyed_hash, False),
    "generalize_date": (registry.generalize_date, False),
}
# What each anonymizer can be written into (PostgreSQL's information_schema data types).
TEXT_TYPES = frozenset({"text", "character varying", "character", "citext"})
DATE_TYPES = frozenset(
    {"date", "timestamp with time zone", "timestamp without time zone"},
)
NEEDS_TYPE = {
    "erased_email": TEXT_TYPES,
    "random_string": TEXT_TYPES,
    "hashed": TEXT_TYPES,
    "keyed_hash": TEXT_TYPES,
    "fixed_string": TEXT_TYPES,
    "generalize_date": DATE_TYPES,
}

_ANONYMIZER_SCHEMA = {
    "oneOf": [
        {"type": "null"},
        {"type": "string", "enum": [n for n, (_f, arg) in ANONYMIZERS.items() if not arg]},
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {"fixed": {}, "fixed_string": {"type": "string"}},
            "additionalProperties": False,
        },
    ]
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tables"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "schema": {"type": "string", "pattern": _NAME},
        "tables": {
            "type": "array",
            "minItems": 1,
            "maxItems": 200,
            "items": {
                "type": "object",
                "required": ["table", "category", "match", "export", "erase"],
                "additionalProperties": False,
                "properties": {
                    "table": {"type": "string", "pattern": _TABLE},
                    "category": {"type": "string", "pattern": r"^[a-z0-9_]{1,40}$"},
                    "label": {"type": "string", "maxLength": 100},
                    "match": {
                        "type": "object",
                        "required": ["identifier", "column"],
                        "additionalProperties": False,
                        "properties": {
                            "identifier": {"enum": list(Identifier.values)},
                            "column": {"type": "string", "pattern": _NAME},
                            "via": {
                                "type": "array",
                                "maxItems": 5,
                                "items": {
                                    "type": "object",
                                    "required": ["column", "table", "references"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "column": {"type": "string", "pattern": _NAME},
                                        "table": {"type": "string", "pattern": _TABLE},
                                        "references": {"type": "string", "pattern": _NAME},
                                    },
                                },
                            },
                        },
                    },
                    "export": {
                        "type": "array",
                        "uniqueItems": True,
                        "items": {"type": "string", "pattern": _NAME},
                    },
                    "erase": {
                        "type": "object",
                        "required": ["strategy"],
                        "additionalProperties": False,
                        "properties": {
                            "strategy": {"enum": [s.value for s in Strategy]},
                            "columns": {
                                "type": "object",
                                "minProperties": 1,
                                "propertyNames": {"pattern": _NAME},
                                "additionalProperties": _ANONYMIZER_SCHEMA,
                            },
                            "legal_basis": {"type": "string", "minLength": 1, "maxLength": 500},
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class TableRef:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Hop:
    """From the previous table's `column` to `table`.`references`."""

    column: str
    table: TableRef
    references: str


@dataclass(frozen=True)
class ColumnErasure:
    column: str
    anonymizer: Anonymizer
    spec: str  # the anonymizer's name as the mapping wrote it ("null", "fixed")


@dataclass(frozen=True)
class TableMapping:
    table: TableRef
    category: str
    label: str
    identifier: str
    match_column: str
    via: tuple[Hop, ...]
    export: tuple[str, ...]
    strategy: Strategy
    columns: tuple[ColumnErasure, ...] = ()
    legal_basis: str = ""

    @property
    def match_table(self) -> TableRef:
        return self.via[-1].table if self.via else self.table


@dataclass(frozen=True)
class Mapping:
    tables: tuple[TableMapping, ...]
    raw: dict[str, Any] = field(compare=False)

    @property
    def categories(self) -> set[str]:
        return {t.category for t in self.tables}

    @property
    def identifiers(self) -> set[str]:
        return {t.identifier for t in self.tables}


def load_text(text: str) -> dict[str, Any]:
    """A mapping as written in admin: JSON, or YAML (JSON is YAML too)."""
    if len(text) > MAX_MAPPING_CHARS:
        raise ValidationError(f"The mapping is too long (at most {MAX_MAPPING_CHARS} characters).")
    try:
        data = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValidationError(f"The mapping is neither valid JSON nor valid YAML{where}.") from exc
    if not isinstance(data, dict):
        raise ValidationError("The mapping must be an object with a `tables` list.")
    # Round-trip through JSON: YAML dates and the like become what a JSONField stores.
    return json.loads(json.dumps(data, default=str))


def _path(error: jsonschema.ValidationError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "mapping" + "".join(parts)


def _table_ref(text: str, default_schema: str) -> TableRef:
    schema, _sep, name = text.rpartition(".")
    return TableRef(schema or default_schema, name)


def _anonymizer(spec: Any) -> tuple[Anonymizer, str]:
    if spec is None:
        return registry.null(), "null"
    if isinstance(spec, str):
        return ANONYMIZERS[spec][0](), spec
    ((name, argument),) = spec.items()
    return ANONYMIZERS[name][0](argument), name


def parse_mapping(data: Any, *, identifiers: Iterable[str] | None = None) -> Mapping:
    """Validate a mapping's shape and names; ValidationError lists every problem found.

    `identifiers`: those the system is configured to receive; a table matching on another one
    could never find its rows.
    """
    if not isinstance(data, dict):
        raise ValidationError("The mapping must be an object with a `tables` list.")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise ValidationError([f"{_path(e)}: {_short(e)}" for e in errors[:10]])
    default_schema = data.get("schema", "public")
    allowed = set(identifiers) if identifiers is not None else None
    problems: list[str] = []
    tables: list[TableMapping] = []
    for index, entry in enumerate(data["tables"]):
        where = f"mapping.tables[{index}] ({entry['table']})"
        erase = entry["erase"]
        strategy = Strategy(erase["strategy"])
        columns: list[ColumnErasure] = []
        if strategy is Strategy.ANONYMIZE:
            if not erase.get("columns"):
                problems.append(f"{where}: strategy 'anonymize' names no column to anonymize.")
            for column, spec in (erase.get("columns") or {}).items():
                anonymizer, name = _anonymizer(spec)
                columns.append(ColumnErasure(column, anonymizer, name))
        elif erase.get("columns"):
            problems.append(f"{where}: only strategy 'anonymize' takes `columns`.")
        if strategy is Strategy.RETAIN and not erase.get("legal_basis"):
            problems.append(f"{where}: strategy 'retain' states no legal_basis.")
        match = entry["match"]
        if allowed is not None and match["identifier"] not in allowed:
            problems.append(
                f"{where}: matches on '{match['identifier']}', which this system is not "
                "configured to receive (see its identifiers)."
            )
        tables.append(
            TableMapping(
                table=_table_ref(entry["table"], default_schema),
                category=entry["category"],
                label=entry.get("label", ""),
                identifier=match["identifier"],
                match_column=match["column"],
                via=tuple(
                    Hop(h["column"], _table_ref(h["table"], default_schema), h["references"])
                    for h in match.get("via", [])
                ),
                export=tuple(entry["export"]),
                strategy=strategy,
                columns=tuple(columns),
                legal_basis=erase.get("legal_basis", ""),
            )
        )
    if problems:
        raise ValidationError(problems)
    return Mapping(tables=tuple(tables), raw=data)


def _short(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, without quoting a whole sub-document back."""
    if error.validator in {"oneOf", "anyOf"}:
        return "not a known anonymizer: use " + ", ".join(sorted(ANONYMIZERS)) + "."
    if error.validator == "additionalProperties":
        return re.sub(r"\(.*\)", "", error.message).strip() + "."
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."
