"""Which accounts are sign-ups nobody finished, for the retention rule that tidies them away.

An account that never verified its address and never signed in goes after a short period,
unless something in another app makes it more than a stray sign-up: a request about it or
filed by it, a guardianship it is the guardian of, a legal hold that named it. Those apps sit
above accounts, so each registers its reason here (from its `personal_data.py`) as a function
of the user row's `OuterRef("pk")` returning an `Exists(...)` condition.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Exists, OuterRef

AccountInUse = Callable[[OuterRef], Exists]

_reasons: list[AccountInUse] = []


def register_account_in_use(reason: AccountInUse) -> None:
    """Add a reason an unfinished sign-up is kept (idempotent)."""
    if reason not in _reasons:
        _reasons.append(reason)


def reasons_in_use() -> list[AccountInUse]:
    return list(_reasons)
