"""The consent ledger: append a decision, read the current state, verify the chains.

The current state per (subject, purpose) is a projection of the ledger kept in Django's cache
(Redis in production) and dropped on every new event of that subject, so a withdrawal is seen
by the very next check. No event means "off" for an optional purpose: nothing is pre-ticked.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery

from core.registry import subject_hmac

from . import cache_reads
from .models import (
    ConsentActor,
    ConsentChainHead,
    ConsentEvent,
    ConsentEventContext,
    Decision,
    LegalBasis,
    PolicyVersion,
    Purpose,
)
from .receipts import purpose_snapshot

GENESIS = "0" * 64
CACHE_TTL = 24 * 3600
ALLOWING = frozenset({Decision.GIVEN})


def user_subject_key(user_id: int) -> str:
    """The ledger's name for a user: a keyed hash, so the proof survives an erasure unlinked."""
    return _user_subject_key(
        user_id, getattr(settings, "DSAR_PSEUDONYM_KEY", "") or settings.SECRET_KEY
    )


@lru_cache(maxsize=4096)
def _user_subject_key(user_id: int, _key: str) -> str:
    # Memoized: the check API needs it several times a call. The key is part of the cache key,
    # so a changed key never finds an old name; user ids only, never other personal data.
    return "user:" + subject_hmac(f"consent-user:{user_id}")[:40]


def visitor_subject_key(visitor_id: str) -> str:
    return "visitor:" + subject_hmac(f"consent-visitor:{visitor_id}")[:40]


def _cache_key(subject_key: str) -> str:
    return f"consent:state:{subject_key}"


def _generation_key(subject_key: str) -> str:
    return f"consent:gen:{subject_key}"


def generation_key(subject_key: str) -> str:
    """The subject's cache generation: what is cached about the subject (its projection, the
    facts the check API reads) is valid only under the generation it was read under."""
    return _generation_key(subject_key)


def _incr(key: str) -> None:
    cache.add(key, 0, None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, None)


def _bump_generation(subject_key: str) -> None:
    """Every new event moves the subject's generation on; a projection cached under an older
    generation is never used again, even if a slow reader stored it after the event."""
    _incr(_generation_key(subject_key))


# The facts about a user the check API reads besides the ledger (account open, age, region,
# restriction, guardianship), cached under the subject's generation and this epoch. The TTL is
# a safety net only: every change moves the generation (or, for bulk changes, the epoch) on.
FACTS_EPOCH_KEY = "consent:facts-epoch"
FACTS_TTL = 300


def facts_cache_key(subject_key: str) -> str:
    return f"consent:facts:{subject_key}"


def subject_changed(subject_key: str) -> None:
    """Something the check API reads about the subject changed (not the ledger): what is cached
    about them is dropped now and again after commit (a reader that read the old row before
    this transaction committed cached it under a generation no longer current)."""
    _bump_generation(subject_key)
    transaction.on_commit(lambda: _bump_generation(subject_key))


def every_subject_changed() -> None:
    """`subject_changed` for everyone at once (a bulk change, such as the end of the service)."""
    _incr(FACTS_EPOCH_KEY)
    transaction.on_commit(lambda: _incr(FACTS_EPOCH_KEY))


def _event_hash(prev_hash: str, event: ConsentEvent) -> str:
    fields = {
        "uuid": str(event.uuid),
        "subject_key": event.subject_key,
        "seq": event.seq,
        "purpose": event.purpose.key,
        "decision": event.decision,
        "policy_version": event.policy_version.version if event.policy_version else None,
        "method": event.method,
        "actor": event.actor,
        "actor_user_id": event.actor_user_id,
        "created_at": event.created_at.isoformat(),
    }
    # Events recorded before snapshots were kept have none: their hashes stay as they were.
    if event.purpose_snapshot is not None:
        fields["purpose_snapshot"] = event.purpose_snapshot
    # Likewise only events that carry a decision time of their own hash one.
    if event.decided_at is not None:
        fields["decided_at"] = event.decided_at.isoformat()
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


@transaction.atomic
def consent_record(
    *,
    subject_key: str,
    purpose: Purpose,
    decision: str,
    method: str,
    actor: str = ConsentActor.SELF,
    actor_user_id: int | None = None,
    policy_version: PolicyVersion | None = None,
    user_id: int | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
    decided_at: datetime.datetime | None = None,
) -> ConsentEvent:
    """Append one decision to the subject's chain. Takes effect at once (the cache is dropped).

    `decided_at`: when the person made the decision, if before now (a choice made signed out,
    carried into the account at sign-in); hashed with the event."""
    if decision not in Decision.values:
        raise ValueError("unknown decision")
    if policy_version is None:
        from .policies import current_policy

        policy_version = current_policy()
    head, _created = ConsentChainHead.objects.select_for_update().get_or_create(
        subject_key=subject_key, defaults={"last_hash": GENESIS, "last_seq": 0}
    )
    event = ConsentEvent(
        subject_key=subject_key,
        seq=head.last_seq + 1,
        purpose=purpose,
        decision=decision,
        policy_version=policy_version,
        method=method,
        actor=actor,
        actor_user_id=actor_user_id,
        decided_at=decided_at,
        purpose_snapshot=purpose_snapshot(purpose),
        prev_hash=head.last_hash,
    )
    event.hash = _event_hash(head.last_hash, event)
    event.save()
    ConsentChainHead.objects.filter(pk=head.pk).update(last_hash=event.hash, last_seq=event.seq)
    if ip_address or user_agent or user_id:
        ConsentEventContext.objects.create(
            event=event, user_id=user_id, ip_address=ip_address, user_agent=user_agent[:512]
        )
    # A new generation now, and again after commit: a check that read the state before this
    # transaction committed stored it under a generation that is no longer current.
    _bump_generation(subject_key)
    transaction.on_commit(lambda: _bump_generation(subject_key))
    return event


@dataclass(frozen=True)
class PurposeState:
    purpose_key: str
    allowed: bool
    legal_basis: str
    decision: str | None  # the last decision, None if there was none
    event_uuid: str | None  # the event it rests on


def state_cache_keys(subject_key: str) -> list[str]:
    """The cache keys `state_for` reads, for a caller that reads them along with others."""
    return [_generation_key(subject_key), _cache_key(subject_key)]


# The latest decision per purpose key: (decision, event uuid).
Latest = dict[str, tuple[str, str]]


def _cached_decisions(subject_key: str, found: Mapping[str, Any]) -> tuple[int, Latest | None]:
    """(generation, projection) from what was read of `state_cache_keys(subject_key)`; the
    projection is None when missing or cached under an older generation."""
    generation = found.get(_generation_key(subject_key), 0)
    cached = found.get(_cache_key(subject_key))
    if cached is not None and cached[0] == generation:
        return generation, dict(cached[1])
    return generation, None


def _load_decisions(subject_keys: Collection[str]) -> dict[str, Latest]:
    """The projections of `subject_keys`, from the ledger, in one query."""
    latest: dict[str, Latest] = {key: {} for key in subject_keys}
    events = (
        ConsentEvent.objects.filter(subject_key__in=subject_keys)
        .order_by("subject_key", "seq")
        .values_list("subject_key", "purpose__key", "decision", "uuid")
    )
    for subject_key, purpose_key, decision, event_uuid in events:
        latest[subject_key][purpose_key] = (decision, str(event_uuid))
    return latest


def _latest_decisions(subject_key: str, found: Mapping[str, Any] | None = None) -> Latest:
    if found is None:
        found = cache.get_many(state_cache_keys(subject_key))
    generation, latest = _cached_decisions(subject_key, found)
    if latest is not None:
        return latest
    latest = _load_decisions([subject_key])[subject_key]
    cache.set(_cache_key(subject_key), (generation, latest), CACHE_TTL)
    return latest


def _states(latest: Latest, purposes: Iterable[Purpose]) -> list[PurposeState]:
    states = []
    for purpose in purposes:
        decision, event_uuid = latest.get(purpose.key, (None, None))
        if purpose.legal_basis != LegalBasis.CONSENT or not purpose.is_optional:
            # Processing on another legal basis does not rest on consent; a required
            # consent purpose (rare) is allowed once given.
            allowed = purpose.legal_basis != LegalBasis.CONSENT or decision in ALLOWING
        else:
            allowed = decision in ALLOWING  # nothing is pre-ticked
        states.append(PurposeState(purpose.key, allowed, purpose.legal_basis, decision, event_uuid))
    return states


def state_for(
    subject_key: str, purposes: Iterable[Purpose], *, found: Mapping[str, Any] | None = None
) -> list[PurposeState]:
    """The state of each purpose for the subject. `found`: what the caller already read of
    `state_cache_keys(subject_key)` in one go with other keys (missing keys left out)."""
    return _states(_latest_decisions(subject_key, found), purposes)


def states_for_many(
    subject_keys: Sequence[str], purposes: Sequence[Purpose]
) -> dict[str, list[PurposeState]]:
    """`state_for` for many subjects at a cost that does not grow with their number: one cache
    round trip to read every projection; for those missing, one query and one round trip to
    store them."""
    keys = list(dict.fromkeys(subject_keys))
    if not keys:
        return {}  # Redis refuses an MGET of no keys
    found = cache_reads.get_many([k for key in keys for k in state_cache_keys(key)])
    latest: dict[str, Latest] = {}
    generations: dict[str, int] = {}
    for key in keys:
        generations[key], cached = _cached_decisions(key, found)
        if cached is not None:
            latest[key] = cached
    missing = [key for key in keys if key not in latest]
    if missing:
        loaded = _load_decisions(missing)
        cache.set_many(
            {_cache_key(key): (generations[key], loaded[key]) for key in missing}, CACHE_TTL
        )
        latest.update(loaded)
    return {key: _states(latest[key], purposes) for key in keys}


def is_allowed(subject_key: str, purpose: Purpose) -> PurposeState:
    return state_for(subject_key, [purpose])[0]


@dataclass(frozen=True)
class LedgerReport:
    subjects: int
    events: int
    broken: list[tuple[str, int, str]]  # (subject key, seq, problem)

    @property
    def ok(self) -> bool:
        return not self.broken


def verify_ledger(batch_size: int = 5000) -> LedgerReport:
    """Recompute every subject's chain; report each first broken link."""
    broken: list[tuple[str, int, str]] = []
    events = 0
    subjects = 0
    current: str | None = None
    prev = GENESIS
    expected_seq = 1
    skip = False
    query = ConsentEvent.objects.select_related("purpose", "policy_version").order_by(
        "subject_key", "seq"
    )
    for event in query.iterator(chunk_size=batch_size):
        events += 1
        if event.subject_key != current:
            current, prev, expected_seq, skip = event.subject_key, GENESIS, 1, False
            subjects += 1
        if skip:
            continue
        problem = ""
        if event.seq != expected_seq:
            problem = "an event is missing before this one"
        elif event.prev_hash != prev:
            problem = "its previous-hash does not match the event before"
        elif _event_hash(prev, event) != event.hash:
            problem = "its content does not match its hash"
        if problem:
            broken.append((event.subject_key, event.seq, problem))
            skip = True
            continue
        prev, expected_seq = event.hash, expected_seq + 1
    heads = {
        key: (last_seq, last_hash)
        for key, last_seq, last_hash in ConsentChainHead.objects.values_list(
            "subject_key", "last_seq", "last_hash"
        )
    }
    last_events = {
        key: (seq, event_hash)
        for key, seq, event_hash in ConsentEvent.objects.filter(
            seq=Subquery(
                ConsentEvent.objects.filter(subject_key=OuterRef("subject_key"))
                .order_by("-seq")
                .values("seq")[:1]
            )
        ).values_list("subject_key", "seq", "hash")
    }
    for key, (last_seq, last_hash) in heads.items():
        if last_events.get(key, (0, GENESIS)) != (last_seq, last_hash):
            broken.append((key, last_seq, "the chain's last event is not the one recorded"))
    for key in last_events.keys() - heads.keys():
        broken.append((key, last_events[key][0], "the chain has no head"))
    return LedgerReport(subjects, events, broken)


def export_view(event: ConsentEvent) -> dict[str, Any]:
    """An event as the user sees it (dashboard history, export)."""
    return {
        "id": str(event.uuid),
        "purpose": event.purpose.key,
        "decision": event.decision,
        "method": event.method,
        "actor": event.actor,
        "policy_version": event.policy_version.version if event.policy_version else None,
        "at": event.created_at.isoformat(),
    }
