"""The audit log: append an entry, verify the chain.

Entries carry ids and status names, never personal data. Appends are serialized by locking the
single chain-head row, so concurrent writers never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Model

from .models import GENESIS_HASH, Actor, AuditChainHead, AuditLogEntry


def _entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _hashed_fields(entry: AuditLogEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor_user_id": entry.actor_user_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "data": entry.data,
    }


# The actions audited while a watch is open (one web request: core.middleware).
_watched: ContextVar[list[str] | None] = ContextVar("audit_watched", default=None)


@contextmanager
def audit_watch() -> Iterator[list[str]]:
    """Collect the actions `audit_append` records inside the block."""
    actions: list[str] = []
    token = _watched.set(actions)
    try:
        yield actions
    finally:
        _watched.reset(token)


@transaction.atomic
def audit_append(
    *,
    action: str,
    actor_user_id: int | None,
    actor_role: str = Actor.SYSTEM,
    target_type: str = "",
    target_id: object = "",
    data: Mapping[str, Any] | None = None,
) -> AuditLogEntry:
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(
        pk=1, defaults={"last_hash": GENESIS_HASH}
    )
    entry = AuditLogEntry(
        actor_user_id=actor_user_id,
        actor_role=actor_role,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        data=json.loads(json.dumps(dict(data or {}), default=str)),
        prev_hash=head.last_hash,
    )
    entry.hash = _entry_hash(head.last_hash, _hashed_fields(entry))
    entry.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=entry.hash)
    watched = _watched.get()
    if watched is not None:
        watched.append(action)
    return entry


def audit_staff_action(
    *, action: str, actor: Model | None, target: Model, data: Mapping[str, Any] | None = None
) -> AuditLogEntry:
    """What a staff member (or, without one, the system) did to a row: named by its model's
    label and its id."""
    return audit_append(
        action=action,
        actor_user_id=actor.pk if actor is not None else None,
        actor_role=Actor.STAFF if actor is not None else Actor.SYSTEM,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        data=data,
    )


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def audit_verify(batch_size: int = 5000) -> ChainReport:
    """Recompute the chain from the start; report the first entry whose link is broken."""
    prev = GENESIS_HASH
    checked = 0
    for entry in AuditLogEntry.objects.order_by("pk").iterator(chunk_size=batch_size):
        if entry.prev_hash != prev:
            return ChainReport(
                checked, entry.pk, "its previous-hash does not match the entry before"
            )
        if _entry_hash(prev, _hashed_fields(entry)) != entry.hash:
            return ChainReport(checked, entry.pk, "its content does not match its hash")
        prev = entry.hash
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        return ChainReport(checked, None, "entries at the end of the chain were removed")
    return ChainReport(checked, None)


# --- How staff read an entry in admin ------------------------------------------------------------

# The first part of an action's name, as staff read it ("dsar.created" -> "Request: created").
ACTION_SUBJECTS = {
    "account": "Account",
    "consent": "Consent",
    "dsar": "Request",
    "guardian": "Guardian",
    "minor": "Minor",
    "notices": "Notice",
    "policy": "Policy",
    "profile": "Profile",
    "relatives": "Relatives' case",
    "retention": "Retention",
    "service_token": "Service token",
    "staff": "Staff",
}

# target type -> (ids -> labels), registered by the app that owns the target (AppConfig.ready):
# one query for a whole page of entries.
TargetLabeller = Callable[[list[str]], dict[str, str]]
_target_labellers: dict[str, TargetLabeller] = {}


def target_labeller_register(target_type: str, labeller: TargetLabeller) -> None:
    _target_labellers[target_type] = labeller


def action_label(action: str) -> str:
    subject, _dot, verb = action.partition(".")
    name = ACTION_SUBJECTS.get(subject, subject.replace("_", " ").capitalize())
    return f"{name}: {verb.replace('_', ' ').replace('.', ', ')}" if verb else name


def target_labels(entries: list[AuditLogEntry]) -> dict[tuple[str, str], str]:
    """(target type, id) -> how staff read the target, for the entries given."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.target_type in _target_labellers:
            wanted.setdefault(entry.target_type, set()).add(str(entry.target_id))
    labels: dict[tuple[str, str], str] = {}
    for target_type, ids in wanted.items():
        for target_id, label in _target_labellers[target_type](sorted(ids)).items():
            labels[(target_type, target_id)] = label
    return labels
