"""Reads about consent that are more than a filter: a user's purposes and states, their
history, the service check, and whether a material policy change awaits their choices."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import QuerySet

from accounts.models import User

from . import ledger
from .models import (
    ConsentEvent,
    Disclosure,
    LegalBasis,
    Method,
    PolicyVersion,
    Purpose,
    ThirdParty,
)
from .services import is_minor_birth_date, purpose_is_offered, purposes_offered_to


@dataclass(frozen=True)
class PurposeStatus:
    """One purpose as one user sees it: what it is and where their decision stands."""

    purpose: Purpose
    allowed: bool
    decision: str | None
    event: ConsentEvent | None

    @property
    def third_parties(self) -> list[ThirdParty]:
        return [t for t in self.purpose.third_parties.all() if t.active]

    @property
    def switchable(self) -> bool:
        """Optional purposes are switched on and off by the user; the others are explained."""
        return self.purpose.is_optional


def consent_statuses_for(user: User) -> list[PurposeStatus]:
    """Every purpose offered to `user` with their current state and the event it rests on."""
    purposes = purposes_offered_to(user)
    states = ledger.state_for(ledger.user_subject_key(user.pk), purposes)
    uuids = [s.event_uuid for s in states if s.event_uuid]
    events = {
        str(e.uuid): e
        for e in ConsentEvent.objects.filter(uuid__in=uuids).select_related(
            "purpose", "policy_version"
        )
    }
    return [
        PurposeStatus(
            purpose=purpose,
            allowed=state.allowed,
            decision=state.decision,
            event=events.get(state.event_uuid) if state.event_uuid else None,
        )
        for purpose, state in zip(purposes, states, strict=True)
    ]


def consent_events_for(user: User) -> QuerySet[ConsentEvent]:
    """The user's whole consent history, newest first."""
    return (
        ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk))
        .select_related("purpose", "policy_version")
        .order_by("-seq")
    )


def consent_event_for(user: User, event_uuid: uuid.UUID) -> ConsentEvent | None:
    """One of the user's own events; another subject's answers None, as if it did not exist."""
    return consent_events_for(user).filter(uuid=event_uuid).first()


# --- The service check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    user_id: int
    purpose: Purpose
    allowed: bool
    reason: str
    decision: str | None
    event_uuid: str | None


def _reason(purpose: Purpose, decision: str | None, allowed: bool) -> str:
    if purpose.legal_basis != LegalBasis.CONSENT:
        return f"Rests on {purpose.legal_basis}, not on consent."
    if allowed:
        return "Consent given."
    if decision is None:
        return "Consent never given."
    return f"Consent {decision}."


def consent_check(user_ids: Sequence[int], purposes: Sequence[Purpose]) -> list[CheckResult]:
    """May each purpose be processed for each user now? Users not found are left out.

    Besides the ledger: a purpose not offered to minors is denied for a minor, and an optional
    purpose is denied while the user's restriction request has stopped optional processing.
    """
    # (birth date, restricted) per user found; users made outside sign-up may lack a profile.
    found: dict[int, tuple[datetime.date | None, bool]] = {
        pk: (birth_date, stopped_at is not None)
        for pk, birth_date, stopped_at in User.objects.filter(pk__in=user_ids).values_list(
            "pk", "profile__birth_date", "profile__optional_processing_stopped_at"
        )
    }
    results = []
    for user_id in dict.fromkeys(user_ids):
        if user_id not in found:
            continue
        birth_date, restricted = found[user_id]
        minor = is_minor_birth_date(birth_date)
        states = ledger.state_for(ledger.user_subject_key(user_id), purposes)
        for purpose, state in zip(purposes, states, strict=True):
            allowed, reason = state.allowed, _reason(purpose, state.decision, state.allowed)
            if not purpose_is_offered(purpose, minor=minor):
                allowed, reason = False, "Not offered to minors."
            elif purpose.is_optional and restricted:
                allowed, reason = False, "Optional processing is restricted at the user's request."
            results.append(
                CheckResult(user_id, purpose, allowed, reason, state.decision, state.event_uuid)
            )
    return results


# --- Re-consent after a material policy change ----------------------------------------------------

# Methods whose events show the user made their choices knowing the policy version in force.
CHOOSING_METHODS = (Method.RECONSENT_PROMPT, Method.SIGNUP_FORM)


def _answered_cache_key(subject_key: str, version: PolicyVersion) -> str:
    return f"consent:reconsented:{subject_key}:{version.pk}"


def reconsent_purposes_for(user: User) -> list[Purpose]:
    """What the re-consent prompt asks about: optional purposes and required consent-based ones."""
    return [p for p in purposes_offered_to(user) if p.legal_basis == LegalBasis.CONSENT]


def reconsent_due(user: User, policy: PolicyVersion | None) -> bool:
    """Whether `user` must make their choices again under `policy` before going on.

    Due when the policy is material and the user has no sign-up or re-consent event recorded
    under it, and has something to choose. A positive answer is cached: the ledger is
    append-only, so once answered, answered for good.
    """
    if policy is None or not policy.is_material:
        return False
    subject_key = ledger.user_subject_key(user.pk)
    cache_key = _answered_cache_key(subject_key, policy)
    if cache.get(cache_key):
        return False
    answered = ConsentEvent.objects.filter(
        subject_key=subject_key, policy_version=policy, method__in=CHOOSING_METHODS
    ).exists()
    if answered:
        cache.set(cache_key, True, ledger.CACHE_TTL)
        return False
    return bool(reconsent_purposes_for(user))


def previous_policy(policy: PolicyVersion) -> PolicyVersion | None:
    """The published version in effect before `policy`, for the "what changed" link."""
    return (
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.PUBLISHED, effective_on__lte=policy.effective_on
        )
        .exclude(pk=policy.pk)
        .order_by("-effective_on", "-published_at")
        .first()
    )


def disclosures_for(user: User) -> QuerySet[Disclosure]:
    """Who received the user's data, when, what: newest first."""
    return (
        Disclosure.objects.filter(user=user)
        .select_related("third_party", "purpose")
        .order_by("-occurred_at", "-pk")
    )


ACTIVE_PURPOSES_CACHE_KEY = "consent:purposes:active"
ACTIVE_PURPOSES_CACHE_TTL = 300  # also bounds staleness after bulk updates that send no signal


def active_purposes() -> list[Purpose]:
    """Every active purpose, from the cache (dropped whenever a purpose changes)."""
    cached = cache.get(ACTIVE_PURPOSES_CACHE_KEY)
    if cached is None:
        cached = list(Purpose.objects.filter(active=True).order_by("order", "key"))
        cache.set(ACTIVE_PURPOSES_CACHE_KEY, cached, ACTIVE_PURPOSES_CACHE_TTL)
    return list(cached)
