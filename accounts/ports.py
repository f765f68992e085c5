"""Where the apps above accounts plug into it: ports filled from their `AppConfig.ready()`.

accounts is the lowest product app and imports none above it. What it must ask them, or tell
them, goes through these small registries of callables (the guardianship app fills them: a
minor's account waits for a guardian).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from .models import User


@dataclass(frozen=True)
class LinkRefusal:
    """Why a user may not link a third-party account now, and where they are sent instead."""

    message: str
    redirect_to: str


# "May this user link a provider?": each returns a refusal, or None when it has no objection.
_link_checks: list[Callable[[User], LinkRefusal | None]] = []
# Sign-up of a person the age table shows to be a minor: each opens what their account needs
# (user, birth_date, region).
_minor_signups: list[Callable[[User, datetime.date, str], None]] = []
# A user's date of birth or region changed (user, actor).
_age_changes: list[Callable[[User, User], None]] = []
# "May `actor` give `user` this date of birth and region?" (user, actor, birth_date, region):
# each returns why not, or None. Asked before someone else's correction is saved.
_age_correction_checks: list[
    Callable[[User, User, datetime.date | None, object], AgeCorrectionRefusal | None]
] = []


@dataclass(frozen=True)
class AgeCorrectionRefusal:
    """Why a correction of someone's date of birth or region is refused (`code` for the audit)."""

    code: str
    message: str


def age_correction_check_register(
    check: Callable[[User, User, datetime.date | None, object], AgeCorrectionRefusal | None],
) -> None:
    if check not in _age_correction_checks:
        _age_correction_checks.append(check)


def age_correction_refusal(
    *, user: User, actor: User, birth_date: datetime.date | None, region: object
) -> AgeCorrectionRefusal | None:
    """The first refusal of `actor` setting `user`'s date of birth and region, or None."""
    for check in _age_correction_checks:
        refusal = check(user, actor, birth_date, region)
        if refusal is not None:
            return refusal
    return None


def link_check_register(check: Callable[[User], LinkRefusal | None]) -> None:
    if check not in _link_checks:
        _link_checks.append(check)


def minor_signup_register(handler: Callable[[User, datetime.date, str], None]) -> None:
    if handler not in _minor_signups:
        _minor_signups.append(handler)


def age_change_register(handler: Callable[[User, User], None]) -> None:
    if handler not in _age_changes:
        _age_changes.append(handler)


def provider_link_refusal(user: User) -> LinkRefusal | None:
    """The first refusal to link a third-party account for `user`, or None."""
    for check in _link_checks:
        refusal = check(user)
        if refusal is not None:
            return refusal
    return None


def minor_signed_up(*, user: User, birth_date: datetime.date, region: str) -> None:
    for handler in _minor_signups:
        handler(user, birth_date, region)


def age_changed(*, user: User, actor: User) -> None:
    for handler in _age_changes:
        handler(user, actor)
