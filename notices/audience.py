"""Who a broadcast reaches: a stored description turned into a query of users.

Only people who can be told are included: active accounts whose address was not erased. The
description is validated when a broadcast is created, so a bad one is a clear error then, not a
failed fan-out later.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.dateparse import parse_datetime

from accounts.models import LoginEvent, User
from core import mail
from core.registry import registry

KINDS = ("all", "joined_before", "logged_in", "data_category", "users", "broadcast")
MAX_LISTED_USERS = 1_000_000


def reachable_users() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .exclude(email__endswith=mail.ERASED_EMAIL_SUFFIX)
    )


def _moment(value: Any, name: str) -> datetime.datetime:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(f"Audience: '{name}' must be a date and time with a time zone.")
    return moment


def _user_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise ValidationError("Audience: 'ids' must be a non-empty list of user ids.")
    if len(value) > MAX_LISTED_USERS:
        raise ValidationError(f"Audience: at most {MAX_LISTED_USERS} user ids.")
    ids: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise ValidationError("Audience: every user id must be a positive whole number.")
        ids.append(item)
    return sorted(set(ids))


def validate_audience(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The audience description, checked and normalized; ValidationError with a message."""
    if not isinstance(spec, Mapping):
        raise ValidationError("Audience: expected an object with a 'kind'.")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValidationError(f"Audience: 'kind' must be one of {', '.join(KINDS)}.")
    if kind == "all":
        return {"kind": "all"}
    if kind == "joined_before":
        return {"kind": kind, "at": _moment(spec.get("at"), "at").isoformat()}
    if kind == "logged_in":
        after = _moment(spec.get("after"), "after")
        before = _moment(spec.get("before"), "before")
        if after >= before:
            raise ValidationError("Audience: 'after' must be earlier than 'before'.")
        return {"kind": kind, "after": after.isoformat(), "before": before.isoformat()}
    if kind == "data_category":
        category = spec.get("category")
        known = dict(registry.categories())
        if category not in known:
            raise ValidationError(
                f"Audience: unknown data category; choose one of {', '.join(sorted(known))}."
            )
        return {"kind": kind, "category": category}
    if kind == "users":
        return {"kind": kind, "ids": _user_ids(spec.get("ids"))}
    broadcast_id = spec.get("id")
    if isinstance(broadcast_id, bool) or not isinstance(broadcast_id, int):
        raise ValidationError("Audience: 'id' must name an earlier broadcast.")
    from .models import Broadcast

    if not Broadcast.objects.filter(pk=broadcast_id).exists():
        raise ValidationError("Audience: that earlier broadcast does not exist.")
    return {"kind": kind, "id": broadcast_id}


def _holders_of(category: str) -> Q:
    """Users with at least one row in a registry category (entries reached by a relation)."""
    condition = Q(pk__in=[])
    for entry in registry:
        if entry.category != category or entry.rows is not None:
            continue
        if entry.user_path == "pk":
            return Q()
        rows = entry.model._default_manager.filter(**{entry.user_path: OuterRef("pk")})
        condition |= Q(Exists(rows))
    return condition


def audience_users(spec: Mapping[str, Any]) -> QuerySet[User]:
    """The users a (validated) audience description names, among those who can be told."""
    users = reachable_users()
    kind = spec["kind"]
    if kind == "all":
        return users
    if kind == "joined_before":
        return users.filter(date_joined__lt=_moment(spec["at"], "at"))
    if kind == "logged_in":
        window = LoginEvent.objects.filter(
            user=OuterRef("pk"),
            created_at__gte=_moment(spec["after"], "after"),
            created_at__lt=_moment(spec["before"], "before"),
        )
        return users.filter(Exists(window))
    if kind == "data_category":
        return users.filter(_holders_of(spec["category"]))
    if kind == "users":
        return users.filter(pk__in=spec["ids"])
    from .models import Message

    return users.filter(
        Exists(Message.objects.filter(broadcast_id=spec["id"], user=OuterRef("pk")))
    )


def describe_audience(spec: Mapping[str, Any]) -> str:
    kind = spec.get("kind")
    if kind == "all":
        return "Everyone with an account"
    if kind == "joined_before":
        return f"Accounts created before {spec.get('at')}"
    if kind == "logged_in":
        return f"Users who signed in between {spec.get('after')} and {spec.get('before')}"
    if kind == "data_category":
        return f"Users with data in the category '{spec.get('category')}'"
    if kind == "users":
        return f"A list of {len(spec.get('ids') or [])} users"
    if kind == "broadcast":
        return f"The same people as broadcast #{spec.get('id')}"
    return "Unknown audience"
