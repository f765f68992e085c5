"""Reads about consent that are more than a filter: a user's purposes and states, their
history, the service check, and whether a material policy change awaits their choices."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Profile, User

from . import ledger, minors
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

# "Not read by the caller", as opposed to None ("read: missing").
_NOT_READ = object()


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


# What the check needs to know about a user besides the ledger; users made outside sign-up may
# lack a profile (NULLs then). The lookups of the rules for minors (`minors.fact_lookups`, from
# the guardianship app) follow these.
FACT_FIELDS = (
    "pk",
    "is_active",
    "profile__birth_date",
    "profile__region",
    "profile__optional_processing_stopped_at",
)


def fact_fields() -> tuple[str, ...]:
    """Every lookup the check reads about a user: FACT_FIELDS, then the minors' rules'."""
    return FACT_FIELDS + minors.fact_lookups()


def _facts(
    is_active: bool | int,
    birth_date: datetime.date | str | None,
    region: str | None,
    stopped_at: object,
    *in_care: object,
) -> tuple[bool, bool, bool]:
    """(minor, restricted, closed). Minor as `services.is_minor` has it: by date of birth and
    region, or while a guardian's consent flow holds them (`in_care`: the values read for
    `minors.fact_lookups`). Closed: the account is inactive (erased, memorialized after death,
    locked), so nothing is processed for it any more."""
    if isinstance(birth_date, str):  # SQLite, read without the ORM's converters
        birth_date = datetime.date.fromisoformat(birth_date)
    minor = is_minor_birth_date(birth_date, region) or minors.facts_minor(in_care)
    return minor, stopped_at is not None, not is_active


def _user_facts(user_ids: Sequence[int]) -> dict[int, tuple[bool, bool, bool]]:
    """(minor, restricted) per user found, in one query."""
    rows = User.objects.filter(pk__in=user_ids).values_list(*fact_fields())
    return {pk: _facts(*rest) for pk, *rest in rows}


# Per database alias: the statement of `_one_user_facts`, compiled by the ORM once.
_one_user_facts_sql: dict[str, str] = {}


def _one_user_row(user_id: int) -> tuple[Any, ...] | None:
    """`FACT_FIELDS` of one user (without the id), by a statement the ORM compiled once per
    process: compiling it costs several times what running it does."""
    sql = _one_user_facts_sql.get(connection.alias)
    if sql is None:
        query = User.objects.filter(pk=0).values_list(*fact_fields()).query
        sql, params = query.get_compiler(connection=connection).as_sql()
        if list(params) != [0]:
            raise RuntimeError("the user facts statement takes the user id only")
        _one_user_facts_sql[connection.alias] = sql
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    is_active, birth_date, region, stopped_at, *in_care = row[1:]
    return (is_active, birth_date, region, True if stopped_at is not None else None, *in_care)


def _one_user_facts(user_id: int, found: Mapping[str, Any]) -> tuple[bool, bool, bool] | None:
    """`_user_facts` for one user, from the cache when what is there was read under the
    subject's current generation and facts epoch (both in `found`, read with the token), from
    the database otherwise (and cached). Every change to what is read moves one of them on
    (`facts_changed`, `ledger.every_subject_changed`), so a cached answer is never stale."""
    subject_key = ledger.user_subject_key(user_id)
    stamp = (
        found.get(ledger.generation_key(subject_key), 0),
        found.get(ledger.FACTS_EPOCH_KEY, 0),
    )
    cached = found.get(ledger.facts_cache_key(subject_key))
    if cached is not None and cached[0] == stamp:
        row = cached[1]
    else:
        row = _one_user_row(user_id)
        if row is None:
            return None
        cache.set(ledger.facts_cache_key(subject_key), (stamp, row), ledger.FACTS_TTL)
    return _facts(*row)


@receiver(post_save, sender=User, dispatch_uid="consent.facts.user_saved")
@receiver(post_delete, sender=User, dispatch_uid="consent.facts.user_deleted")
def _user_changed(instance: User, **kwargs: object) -> None:
    facts_changed(instance.pk)


@receiver(post_save, sender=Profile, dispatch_uid="consent.facts.profile_saved")
@receiver(post_delete, sender=Profile, dispatch_uid="consent.facts.profile_deleted")
def _user_part_changed(instance: Profile, **kwargs: object) -> None:
    facts_changed(instance.user_id)


def facts_changed(user_id: int | None) -> None:
    """What the check API reads about the user (`fact_fields()`) changed. Saves call it through
    the receivers above (and the guardianship app's, for its minors' rows); a queryset
    `update()` of those fields must call it itself."""
    if user_id is not None:
        ledger.subject_changed(ledger.user_subject_key(user_id))


def _answers(
    user_id: int,
    facts: tuple[bool, bool, bool],
    purposes: Sequence[Purpose],
    states: Sequence[ledger.PurposeState],
) -> list[CheckResult]:
    minor, restricted, closed = facts
    results = []
    for purpose, state in zip(purposes, states, strict=True):
        allowed, reason = state.allowed, _reason(purpose, state.decision, state.allowed)
        if closed:
            allowed, reason = False, "The account is closed: nothing may be processed for it."
        elif not purpose_is_offered(purpose, minor=minor):
            allowed, reason = False, "Not offered to minors."
        elif purpose.is_optional and restricted:
            allowed, reason = False, "Optional processing is restricted at the user's request."
        results.append(
            CheckResult(user_id, purpose, allowed, reason, state.decision, state.event_uuid)
        )
    return results


def consent_check(user_ids: Sequence[int], purposes: Sequence[Purpose]) -> list[CheckResult]:
    """May each purpose be processed for each user now? Users not found are left out.

    Besides the ledger: everything is denied for a closed account (erased, memorialized after
    death, locked), a purpose not offered to minors is denied for a minor, and an optional
    purpose is denied while the user's restriction request has stopped optional processing.
    The ledger's projections of all the users are read from the cache in one round trip.
    """
    found = _user_facts(user_ids)
    known = [user_id for user_id in dict.fromkeys(user_ids) if user_id in found]
    subject_keys = {user_id: ledger.user_subject_key(user_id) for user_id in known}
    states = ledger.states_for_many(list(subject_keys.values()), purposes)
    results = []
    for user_id in known:
        results += _answers(user_id, found[user_id], purposes, states[subject_keys[user_id]])
    return results


def check_cache_keys(user_id: int) -> list[str]:
    """What `consent_check_one` reads from the cache about `user_id`."""
    subject_key = ledger.user_subject_key(user_id)
    return [
        *ledger.state_cache_keys(subject_key),
        ledger.facts_cache_key(subject_key),
        ledger.FACTS_EPOCH_KEY,
        PURPOSES_GENERATION_KEY,
    ]


def consent_check_one(
    user_id: int, purpose_key: str, *, found: Mapping[str, Any] | None = None
) -> CheckResult | None:
    """`consent_check` for one user and one active purpose, at the cost of one cache round trip
    (the purposes' generation, the user's projection and facts together) and, when the cache
    is cold, queries. None when there is no such user; Purpose.DoesNotExist when there is no
    such active purpose.

    `found`: what the caller read of `check_cache_keys(user_id)` along with other keys
    (missing keys left out); read here otherwise.
    """
    subject_key = ledger.user_subject_key(user_id)
    if found is None:
        found = cache.get_many(check_cache_keys(user_id))
    generation = found.get(PURPOSES_GENERATION_KEY)
    purposes = active_purposes(generation=generation)
    purpose = next((p for p in purposes if p.key == purpose_key), None)
    if purpose is None:
        raise Purpose.DoesNotExist(purpose_key)
    facts = _one_user_facts(user_id, found)
    if facts is None:
        return None
    states = ledger.state_for(subject_key, [purpose], found=found)
    return _answers(user_id, facts, [purpose], states)[0]


# --- Re-consent after a material policy change ----------------------------------------------------

# Methods whose events show the user made their choices knowing the policy version in force.
CHOOSING_METHODS = (Method.RECONSENT_PROMPT, Method.SIGNUP_FORM, Method.GUARDIAN)


def _answered_cache_key(subject_key: str, version: PolicyVersion) -> str:
    return f"consent:reconsented:{subject_key}:{version.pk}"


def _up_to(version: PolicyVersion) -> Q:
    """Published versions in force no later than `version` (the order of `current_policy`)."""
    same_day = Q(effective_on=version.effective_on)
    if version.published_at is not None:
        same_day &= Q(published_at__lte=version.published_at)
    return Q(status=PolicyVersion.Status.PUBLISHED) & (
        Q(effective_on__lt=version.effective_on) | same_day | Q(pk=version.pk)
    )


def _after(version: PolicyVersion) -> Q:
    """Versions that took effect after `version` (the order of `current_policy`)."""
    later = Q(effective_on__gt=version.effective_on)
    if version.published_at is not None:
        later |= Q(effective_on=version.effective_on, published_at__gt=version.published_at)
    return later & ~Q(pk=version.pk)


def last_chosen_policy(user: User) -> PolicyVersion | None:
    """The version under which `user` last made their choices (sign-up, re-consent, guardian)."""
    event = (
        ConsentEvent.objects.filter(
            subject_key=ledger.user_subject_key(user.pk), method__in=CHOOSING_METHODS
        )
        .select_related("policy_version")
        .order_by("-seq")
        .first()
    )
    return event.policy_version if event is not None else None


def reconsent_purposes_for(user: User) -> list[Purpose]:
    """What the re-consent prompt asks about: optional purposes and required consent-based ones."""
    return [p for p in purposes_offered_to(user) if p.legal_basis == LegalBasis.CONSENT]


def reconsent_due(user: User, policy: PolicyVersion | None) -> bool:
    """Whether `user` must make their choices again before going on, `policy` being in force.

    Due when a material version took effect (up to `policy`) after the version under which the
    user last made their choices (or they never made any), and they have something to choose.
    The version in force need not be material: a material 2.0 followed by a minor 2.1 before
    the user came back still asks them. A negative answer is cached per version in force: the
    ledger is append-only, and any version coming into force becomes the current one, so the
    answer holds until the version in force changes. Runs on every page view: one cache read
    when cached, two queries otherwise.
    """
    if policy is None:
        return False
    subject_key = ledger.user_subject_key(user.pk)
    cache_key = _answered_cache_key(subject_key, policy)
    if cache.get(cache_key):
        return False
    pending = PolicyVersion.objects.filter(_up_to(policy), is_material=True)
    chosen = last_chosen_policy(user)
    if chosen is not None:
        pending = pending.filter(_after(chosen))
    if not pending.exists():
        cache.set(cache_key, True, ledger.CACHE_TTL)
        return False
    return bool(reconsent_purposes_for(user))


@dataclass(frozen=True)
class PolicyChanges:
    """What changed between the version a user last chose under and the one in force."""

    since: PolicyVersion | None  # the diff's starting point; None when there is none
    versions: list[PolicyVersion]  # every version since, oldest first, the one in force last
    chosen_under: PolicyVersion | None  # the version the user last chose under, if any


def reconsent_changes(user: User, policy: PolicyVersion) -> PolicyChanges:
    """For the re-consent prompt: changes since the version the user last chose under, or,
    when they never chose, since the version before the latest material one."""
    chosen = since = last_chosen_policy(user)
    if since is None:
        material = (
            PolicyVersion.objects.filter(_up_to(policy), is_material=True)
            .order_by("-effective_on", "-published_at", "-pk")
            .first()
        )
        since = previous_policy(material) if material is not None else previous_policy(policy)
    versions = PolicyVersion.objects.filter(_up_to(policy))
    if since is not None:
        versions = versions.filter(_after(since))
    ordered = versions.order_by("effective_on", "published_at", "pk")
    return PolicyChanges(since=since, versions=list(ordered), chosen_under=chosen)


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


# The active purposes are read on every page (the cookie banner) and every check: each process
# keeps its own copy, valid while the shared cache holds the generation it was loaded under.
# A change of any purpose drops the generation (consent.cookies), so every process reloads.
PURPOSES_GENERATION_KEY = "consent:purposes:generation"
ACTIVE_PURPOSES_CACHE_TTL = 300  # also bounds staleness after bulk updates that send no signal


@dataclass(frozen=True)
class _LoadedPurposes:
    generation: str | None
    loaded_at: float
    purposes: tuple[Purpose, ...]


_loaded_purposes: _LoadedPurposes | None = None


def active_purposes(*, generation: object = _NOT_READ) -> list[Purpose]:
    """Every active purpose, from this process's copy while it is current.

    `generation` is the value of PURPOSES_GENERATION_KEY when the caller read it along with
    other keys (None: missing); otherwise it is read here. The purposes are shared between
    requests: read them, never change them.
    """
    global _loaded_purposes
    if generation is _NOT_READ:
        generation = cache.get(PURPOSES_GENERATION_KEY)
    loaded = _loaded_purposes
    if (
        loaded is not None
        and generation is not None
        and loaded.generation == generation
        and time.monotonic() - loaded.loaded_at < ACTIVE_PURPOSES_CACHE_TTL
    ):
        return list(loaded.purposes)
    if generation is None:
        # The first reader after a change names the new generation, before reading the rows:
        # a change committed after this read drops that generation again.
        cache.add(PURPOSES_GENERATION_KEY, uuid.uuid4().hex, ACTIVE_PURPOSES_CACHE_TTL)
        generation = cache.get(PURPOSES_GENERATION_KEY)
    purposes = tuple(Purpose.objects.filter(active=True).order_by("order", "key"))
    loaded_under = str(generation) if generation else None
    _loaded_purposes = _LoadedPurposes(loaded_under, time.monotonic(), purposes)
    return list(purposes)


def purposes_changed() -> None:
    """Every process reloads the active purposes on its next read."""
    cache.delete(PURPOSES_GENERATION_KEY)
