"""Who, beyond their date of birth, consent treats as a minor: a port the guardianship app fills.

consent sits below guardianship and never imports it. A user stays under the rules for minors
while a guardian's consent flow holds them (not only by the date of birth in their profile), and
gives no optional consent themselves while that flow waits for a guardian. The guardianship app
says who that is by registering a `MinorRule` from its `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from accounts.models import User


@dataclass(frozen=True)
class MinorRule:
    # Whether the user is treated as a minor (a guardian flow holds them).
    in_care: Callable[[User], bool]
    # Whether the user waits for a guardian's approval: they give nothing optional themselves.
    waiting: Callable[[User], bool]
    # A lookup from User read with the check API's other facts in its one query, and whether
    # the value read keeps the user a minor.
    fact_lookup: str
    fact_is_minor: Callable[[Any], bool]


_rules: list[MinorRule] = []


def register(rule: MinorRule) -> None:
    if rule not in _rules:
        _rules.append(rule)


def in_care(user: User) -> bool:
    return any(rule.in_care(user) for rule in _rules)


def waiting(user: User) -> bool:
    return any(rule.waiting(user) for rule in _rules)


def fact_lookups() -> tuple[str, ...]:
    return tuple(rule.fact_lookup for rule in _rules)


def facts_minor(values: Sequence[Any]) -> bool:
    """Whether the values read for `fact_lookups()` (in that order) keep the user a minor."""
    return any(rule.fact_is_minor(value) for rule, value in zip(_rules, values, strict=True))
