"""What the demo holds beyond its two accounts: a port the apps above accounts fill.

`manage.py seed_demo` (`make run`) creates the demo user and the MFA-ready staff superuser, and
each app above accounts adds its part of the demo by registering a `DemoPart` from its
`AppConfig.ready()`: consent the policy, purposes and SDK list (before the accounts, whose
sign-up choices need them), connectors the example product service and support desk (after,
with the staff account as actor). A part may take command-line options of its own and may name
a line for the summary the command prints.
"""

from __future__ import annotations

from argparse import ArgumentParser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .models import User


@dataclass(frozen=True)
class DemoPart:
    key: str
    # Seeds the part, idempotently, given the staff account (None before the accounts exist)
    # and the command's options; returns the summary line's text ("" for none).
    seed: Callable[[User | None, Mapping[str, Any]], str]
    # Seeded before the demo accounts exist (the accounts then may use what it created).
    before_accounts: bool = False
    # The summary line's label ("Connected"), when the part prints one.
    label: str = ""
    # Adds the part's options to the command's parser.
    arguments: Callable[[ArgumentParser], None] | None = None


_parts: dict[str, DemoPart] = {}


def register_demo_part(part: DemoPart) -> None:
    _parts[part.key] = part


def demo_parts(*, before_accounts: bool) -> list[DemoPart]:
    return [part for part in _parts.values() if part.before_accounts == before_accounts]


def add_demo_arguments(parser: ArgumentParser) -> None:
    for part in _parts.values():
        if part.arguments is not None:
            part.arguments(parser)
