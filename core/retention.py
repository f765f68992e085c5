"""The retention table: how long each category of personal data is kept, declared by the app
that holds it.

The policy's "Storage of Information": information is kept for the period its purpose needs,
then deleted or anonymized, unless the law requires otherwise (a legal hold).

A rule (`RetentionRule`) is one category: its period, what it removes and the tables it clears
(`Target`s). A target says which rows have expired, how they go (deleted, or anonymized field
by field) and which rows a legal hold protects: a hold on a user protects that user's rows, a
hold on a request protects that request's evidence. Each app adds its categories with
`register_rule(...)` from its own `personal_data.py`, beside its registry entries; the
retention app runs the sweep over this table, applies the holds and the staff's overrides.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models

DEFAULT_BATCH_SIZE = 5000
MAX_DAYS = 36500  # a hundred years: beyond that a period is a mistake (and overflows dates)
CATEGORY_MAX_LENGTH = 40  # a category's key, as settings and staff overrides name it


class Action(enum.StrEnum):
    DELETE = "delete"
    ANONYMIZE = "anonymize"


# --- The rule table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One table a rule clears."""

    model_label: str  # "app_label.ModelName"
    action: Action
    # The rows older than the cutoff that still hold what the rule removes (anonymized rows must
    # not match again). Holds are applied on top by the sweep.
    expired: Callable[[datetime.datetime], models.QuerySet[Any]]
    # Lookup paths from a row to the users and requests whose legal hold protects it.
    held_by_user: tuple[str, ...] = ()
    held_by_request: tuple[str, ...] = ()
    # ANONYMIZE: field -> value written.
    anonymize: Mapping[str, Any] = field(default_factory=dict)
    # Effects outside the table (files in storage, sessions), run on a batch before its
    # transaction: storage I/O never holds row locks. It is given exactly the rows found
    # eligible (expiry and holds checked) just before it runs, and only those rows are then
    # removed: a row a hold protects keeps its files, and no row goes without its files.
    before_remove: Callable[[models.QuerySet[Any]], None] | None = None
    # A removal other than a plain delete or update of the batch; returns the rows removed.
    remove: Callable[[models.QuerySet[Any]], int] | None = None
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)


@dataclass(frozen=True)
class RetentionRule:
    """One category of retention: its period, what it removes and from where."""

    key: str  # the category, as settings.DSAR_RETENTION_DAYS and RetentionOverride name it
    label: str
    removes: str  # what the sweep removes, in plain words
    default_days: int  # when settings.DSAR_RETENTION_DAYS does not name the category
    targets: tuple[Target, ...]
    keeps: str = ""  # what stays, in plain words
    order: int = 100

    @property
    def how(self) -> str:
        actions = [a.value for a in Action if any(t.action is a for t in self.targets)]
        return " and ".join(actions)


_rules: dict[str, RetentionRule] = {}


def register_rule(
    key: str,
    *,
    label: str,
    removes: str,
    default_days: int,
    targets: Iterable[Target],
    keeps: str = "",
    order: int = 100,
) -> RetentionRule:
    """Add a category to the retention table (from an app's `personal_data.py`)."""
    rule = RetentionRule(
        key=key,
        label=label,
        removes=removes,
        default_days=default_days,
        targets=tuple(targets),
        keeps=keeps,
        order=order,
    )
    problems = []
    if key in _rules:
        problems.append("is registered twice")
    if not key or len(key) > CATEGORY_MAX_LENGTH:
        problems.append(f"needs a key of 1 to {CATEGORY_MAX_LENGTH} characters")
    if not 1 <= default_days <= MAX_DAYS:
        problems.append(f"needs a default of 1 to {MAX_DAYS} days")
    if not rule.targets:
        problems.append("names no table")
    if any(t.action is Action.ANONYMIZE and not t.anonymize and not t.remove for t in rule.targets):
        problems.append("anonymizes without naming fields")
    if problems:
        raise ValueError(f"retention rule {key!r} " + "; ".join(problems))
    _rules[key] = rule
    return rule


def rules() -> list[RetentionRule]:
    return sorted(_rules.values(), key=lambda r: (r.order, r.key))


def get_rule(key: str) -> RetentionRule | None:
    return _rules.get(key)


def rule_choices() -> list[tuple[str, str]]:
    return [(rule.key, rule.label) for rule in rules()]
