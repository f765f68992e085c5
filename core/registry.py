"""The personal-data registry: every model that holds a user's personal data, declared once.

Each app lists its models in `personal_data.py` with `register(...)`. The export and erasure
engines walk this registry and nothing else; a system check (checks.py) fails when a model
related to the user is missing from it or names a field that no longer exists.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models

from .mail import ERASED_EMAIL_SUFFIX


class Strategy(enum.StrEnum):
    DELETE = "delete"  # delete the rows
    ANONYMIZE = "anonymize"  # keep the rows, replace the named fields
    RETAIN = "retain"  # keep as they are, for a stated legal basis and period


# --- Anonymizers: named, so an erasure record says exactly what was done. --------------------


@dataclass(frozen=True)
class Anonymizer:
    name: str
    apply: Callable[[Any, str], Any]  # (current value, row key) -> replacement
    per_row: bool = False  # needs each row's own value (cannot be one bulk UPDATE)

    def __str__(self) -> str:
        return self.name


def null() -> Anonymizer:
    return Anonymizer("null", lambda value, key: None)


def fixed_string(text: str = "") -> Anonymizer:
    return Anonymizer(f"fixed_string({text!r})", lambda value, key: text)


def fixed(value: Any) -> Anonymizer:
    return Anonymizer(f"fixed({value!r})", lambda current, key: value)


def erased_email() -> Anonymizer:
    """A unique address that can never receive mail (reserved .invalid domain)."""
    return Anonymizer(
        "erased_email",
        lambda value, key: f"erased-{secrets.token_hex(8)}{ERASED_EMAIL_SUFFIX}",
        True,
    )


def random_string(length: int = 16) -> Anonymizer:
    return Anonymizer(
        "random_string", lambda value, key: secrets.token_hex(length // 2 + 1)[:length], True
    )


def hashed() -> Anonymizer:
    """SHA-256 of the value: stable, but guessable for short values; prefer `keyed_hash`."""
    return Anonymizer(
        "hash",
        lambda value, key: hashlib.sha256(str(value).encode()).hexdigest() if value else value,
        True,
    )


def keyed_hash() -> Anonymizer:
    """HMAC-SHA-256 with the portal's secret: stable within the portal, not reversible."""
    return Anonymizer("hmac", lambda value, key: subject_hmac(str(value)) if value else value, True)


def generalize_date() -> Anonymizer:
    """Keep only the year (1 January)."""

    def apply(value: Any, key: str) -> Any:
        if isinstance(value, datetime.datetime):
            return value.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        if isinstance(value, datetime.date):
            return value.replace(month=1, day=1)
        return value

    return Anonymizer("generalize_date", apply, True)


def subject_hmac(value: str) -> str:
    key = getattr(settings, "DSAR_PSEUDONYM_KEY", "") or settings.SECRET_KEY
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


# --- Declarations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    legal_basis: str
    period: datetime.timedelta | None  # None: as long as the basis lasts (stated in legal_basis)


@dataclass
class PersonalData:
    """One model's personal data: how to find a user's rows, what to export, how to erase."""

    model_label: str  # "app_label.ModelName"
    category: str  # the export folder and the erasure record's heading
    label: str  # human-readable name of the category
    user_path: str  # ORM path from the model to the user: "user", "account__user", "pk" for User
    fields: dict[str, str]  # exported field -> human label
    strategy: Strategy
    anonymize: dict[str, Anonymizer] = field(default_factory=dict)
    retention: Retention | None = None
    order: int = 100  # erasure order: lower first (children before parents)
    description: str = ""
    # Runs on the user's rows before the strategy, for effects outside the table (ending a
    # session in the session store, removing an archive file from storage).
    before_erase: Callable[[models.QuerySet], None] | None = None
    # For rows tied to the user by something other than a relation (a pseudonymous key):
    # returns the user's rows; `user_path` is then only documentation.
    rows: Callable[[Any], models.QuerySet] | None = None

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def rows_for(self, user: Any) -> models.QuerySet:
        if self.rows is not None:
            return self.rows(user)
        return self.model._default_manager.filter(**{self.user_path: user.pk})

    def problems(self) -> list[str]:
        """Field names that no longer exist on the model, and inconsistent declarations."""
        try:
            model = self.model
        except LookupError:
            return [f"model {self.model_label} does not exist"]
        found = [
            f"field {name!r} does not exist"
            for name in self.fields
            if resolve_field(model, name) is None
        ]
        found += [
            f"field {name!r} does not exist (only the model's own fields can be anonymized)"
            for name in self.anonymize
            if "__" in name or resolve_field(model, name) is None
        ]
        if self.strategy is Strategy.ANONYMIZE and not self.anonymize:
            found.append("strategy 'anonymize' names no field to anonymize")
        if self.strategy is Strategy.RETAIN and self.retention is None:
            found.append("strategy 'retain' states no legal basis")
        return found


def resolve_field(model: type[models.Model], path: str) -> Any | None:
    """The field a lookup path names ("email", "purpose__key"), or None if there is none."""
    current: Any = model
    field: Any = None
    for part in path.split("__"):
        if current is None:
            return None
        try:
            field = current._meta.get_field(part)
        except Exception:
            field = {f.attname: f for f in current._meta.concrete_fields}.get(part)
            if field is None:
                return None
        current = field.related_model if field.is_relation else None
    return field


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, PersonalData] = {}

    def register(self, entry: PersonalData) -> PersonalData:
        key = entry.model_label.lower()
        if key in self._entries:
            raise ValueError(f"{entry.model_label} is registered twice")
        self._entries[key] = entry
        return entry

    def get(self, model: type[models.Model]) -> PersonalData | None:
        return self._entries.get(model._meta.label_lower)

    def __iter__(self) -> Iterator[PersonalData]:
        return iter(sorted(self._entries.values(), key=lambda e: (e.order, e.model_label)))

    def categories(self) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for entry in self:
            seen.setdefault(entry.category, entry.label)
        return sorted(seen.items())

    def requestable_categories(self) -> list[tuple[str, str]]:
        """The categories a person may choose in a request, sorted by their label: all but the
        records of staff's own work on the data (part of a full copy, not a choice of theirs)."""
        return sorted(
            ((key, label) for key, label in self.categories() if key not in STAFF_CATEGORIES),
            key=lambda item: str(item[1]).casefold(),
        )


# The account itself (its row, the sign-in address): deleted only with everything.
ACCOUNT_CATEGORY = "account"
# Records of what staff did with a person's data, the holds they placed on it, and their internal
# notes on the person's requests.
STAFF_CATEGORIES = frozenset({"staff_actions", "legal_holds", "request_notes"})

registry = Registry()


def register(model_label: str, **kwargs: Any) -> PersonalData:
    return registry.register(PersonalData(model_label=model_label, **kwargs))
