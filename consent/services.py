"""Writes with rules about consent: give, withdraw, refuse, withdraw everything, log a sharing.

Every function here is the one place its rule lives: the consent center, sign-up, the
re-consent prompt, the API, admin actions and the withdraw-consent request all call them.
Each change appends to the consent ledger (`ledger.consent_record`, which drops the cached
state, so the very next check sees it) and writes an audit row with ids only.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import lazy

from accounts import jurisdictions
from accounts.models import Profile, User
from accounts.services import hash_token_secret
from core.audit import audit_append
from core.collection import COLLECTION_STOPPED_MESSAGE, collection_stopped
from core.request_info import client_ip, describe_device

from . import ledger, minors, withdrawals
from .models import (
    ConsentActor,
    ConsentEvent,
    Decision,
    Disclosure,
    LegalBasis,
    Method,
    PolicyVersion,
    Purpose,
    ServiceToken,
    ThirdParty,
)


def _policy_adult_age() -> int:
    from django.conf import settings

    return int(settings.POLICY_ADULT_AGE)


# The policy's adult age (settings.POLICY_ADULT_AGE), read when used: below it (or below a
# region's guardian age, if that is higher), purposes not for minors are never offered.
ADULT_AGE = lazy(_policy_adult_age, int)()


@dataclass(frozen=True)
class CollectionContext:
    """Where a decision was collected: kept apart from the ledger, erasable with the account."""

    ip_address: str | None = None
    user_agent: str = ""


NO_CONTEXT = CollectionContext()


def collection_context(request: HttpRequest) -> CollectionContext:
    device = describe_device(request.META.get("HTTP_USER_AGENT", ""))
    return CollectionContext(client_ip(request), device.user_agent)


# --- Minors (ages by region: accounts.jurisdictions) -------------------------------------------


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return jurisdictions.age_on(birth_date, day)


def is_minor_birth_date(birth_date: datetime.date | None, region: object = None) -> bool:
    """Whether purposes not for minors are withheld from someone born on `birth_date` in
    `region` (no region: the policy's own jurisdiction). Below the age of full capacity (the
    policy's reading, 18) or the region's guardian age, whichever is higher: a 13-year-old who
    may consent alone to the service is still never offered profiling or advertising. No date
    of birth is not treated as a minor's."""
    return jurisdictions.is_under_full_age(birth_date, region)


def is_minor(user: User) -> bool:
    """Whether the portal treats `user` as a minor: by the date of birth and region in their
    profile, or while a guardian's consent is required for them (a minor does not leave the
    rules for minors by changing their own date of birth)."""
    row = Profile.objects.filter(user=user).values_list("birth_date", "region").first()
    if row is not None and is_minor_birth_date(row[0], row[1]):
        return True
    return minors.in_care(user)


def _waiting_for_guardian(user: User) -> bool:
    """A minor whose account waits for a guardian's approval (or is suspended or erased)."""
    return minors.waiting(user)


def purpose_is_offered(purpose: Purpose, *, minor: bool) -> bool:
    return purpose.active and (purpose.offered_to_minors or not minor)


def signup_purposes() -> list[Purpose]:
    """Every active purpose, for a person whose age is not known yet."""
    return list(Purpose.objects.filter(active=True).prefetch_related("third_parties"))


def purposes_offered_to(user: User) -> list[Purpose]:
    """Active purposes the user may see and decide on: none "not for minors" for a minor."""
    minor = is_minor(user)
    return [
        p
        for p in Purpose.objects.filter(active=True).prefetch_related("third_parties")
        if purpose_is_offered(p, minor=minor)
    ]


# --- Recording decisions --------------------------------------------------------------------------


# The audit log's names for who acted.
AUDIT_ROLES: dict[str, str] = {
    ConsentActor.SELF: "requester",
    ConsentActor.STAFF: "staff",
    ConsentActor.GUARDIAN: "guardian",
}


def _actor_role(user: User, actor: User | None, role: str | None = None) -> str:
    """Who decides. A caller that knows the actor's role says so (`role`: the guardianship app
    passes `guardian` for a guardian deciding for a minor in their care); otherwise it is
    derived: the user themselves, staff, or the system (no actor). Anyone else is refused."""
    if role is not None:
        if role not in ConsentActor.values:
            raise ValueError(f"unknown consent actor role {role!r}")
        return role
    if actor is None:
        return ConsentActor.SYSTEM
    if actor.pk == user.pk:
        return ConsentActor.SELF
    if actor.is_staff:
        return ConsentActor.STAFF
    raise PermissionDenied(
        "Only the user themselves, their guardian, staff or the system may decide this."
    )


def _latest_event(user: User, purpose: Purpose) -> ConsentEvent | None:
    """The user's last decision on `purpose`, from the database: writes never trust the cache."""
    return (
        ConsentEvent.objects.select_related("policy_version")
        .filter(subject_key=ledger.user_subject_key(user.pk), purpose=purpose)
        .order_by("-seq")
        .first()
    )


def _record(
    *,
    user: User,
    purpose: Purpose,
    decision: str,
    method: str,
    actor: User | None,
    context: CollectionContext,
    policy_version: PolicyVersion | None,
    role: str | None = None,
    decided_at: datetime.datetime | None = None,
) -> ConsentEvent:
    role = _actor_role(user, actor, role)
    event = ledger.consent_record(
        subject_key=ledger.user_subject_key(user.pk),
        purpose=purpose,
        decision=decision,
        method=method,
        actor=role,
        actor_user_id=actor.pk if actor is not None else None,
        policy_version=policy_version,
        user_id=user.pk,
        ip_address=context.ip_address,
        user_agent=context.user_agent,
        decided_at=decided_at,
    )
    audit_append(
        action=f"consent.{decision}",
        actor_user_id=actor.pk if actor is not None else None,
        actor_role=AUDIT_ROLES.get(role, "system"),
        target_type="accounts.user",
        target_id=user.pk,
        data={"event": str(event.uuid), "purpose": purpose.key, "method": method},
    )
    return event


def _require_consent_basis(purpose: Purpose) -> None:
    if purpose.legal_basis != LegalBasis.CONSENT:
        raise ValidationError(
            f"“{purpose.name}” rests on another legal basis "
            f"({purpose.get_legal_basis_display()}), not on consent: there is nothing to give "
            "or withdraw.",
            code="not_consent_based",
        )


def _same_version(event: ConsentEvent, policy_version: PolicyVersion | None) -> bool:
    return event.policy_version_id == (policy_version.pk if policy_version else None)


def require_collection_open() -> None:
    """ValidationError once the service has ended: no consent is given any more (withdrawing
    and refusing still work)."""
    if collection_stopped():
        raise ValidationError(COLLECTION_STOPPED_MESSAGE, code="service_ended")


@transaction.atomic
def consent_give(
    *,
    user: User,
    purpose: Purpose,
    method: str,
    actor: User | None,
    context: CollectionContext = NO_CONTEXT,
    reaffirm: bool = False,
    role: str | None = None,
    decided_at: datetime.datetime | None = None,
) -> ConsentEvent | None:
    """Record that `user` gives consent to `purpose`. Returns the new event, or None when
    consent is already given under the current policy version (nothing changed).
    `decided_at`: when the person chose, if before now (see `ConsentEvent.decided_at`).

    Only the person, or for a minor their guardian, gives consent: staff and the system may
    withdraw one, never give it (PermissionDenied). A purpose not offered to minors can never
    be given for a minor, and a minor waiting for their guardian's approval gives nothing
    themselves (ValidationError). `role`: the actor's role when the caller knows it (the
    guardianship app, for a guardian; it also checks what the guardian's verification allows);
    otherwise derived from `actor` (see `_actor_role`).
    """
    require_collection_open()
    role = _actor_role(user, actor, role)
    if role not in (ConsentActor.SELF, ConsentActor.GUARDIAN):
        raise PermissionDenied("Only the person themselves, or their guardian, can give consent.")
    _require_consent_basis(purpose)
    if not purpose.active:
        raise ValidationError(f"“{purpose.name}” is no longer offered.", code="inactive")
    if not purpose.offered_to_minors and is_minor(user):
        region = Profile.objects.filter(user=user).values_list("region", flat=True).first()
        raise ValidationError(
            f"“{purpose.name}” is not offered to people under {jurisdictions.full_age(region)}.",
            code="minor",
        )
    if role == ConsentActor.SELF and _waiting_for_guardian(user):
        if method == Method.COOKIE_BANNER:
            # Choices carried into the account at sign-in are dropped, not refused: the
            # banner never breaks a sign-in, and nothing optional is on for this minor.
            return None
        raise ValidationError(
            "Your parent or guardian must approve your account first: until then, nothing "
            "optional can be switched on.",
            code="guardian_pending",
        )
    from .policies import current_policy

    policy = current_policy()
    latest = _latest_event(user, purpose)
    if (
        latest is not None
        and latest.decision == Decision.GIVEN
        and _same_version(latest, policy)
        and _nothing_to_reaffirm(latest, method, reaffirm)
    ):
        return None
    return _record(
        user=user,
        purpose=purpose,
        decision=Decision.GIVEN,
        method=method,
        actor=actor,
        context=context,
        policy_version=policy,
        role=role,
        decided_at=decided_at,
    )


# Forms whose answer must show in the ledger as made there, even when it repeats a decision.
REAFFIRMING_METHODS = frozenset({Method.RECONSENT_PROMPT, Method.SIGNUP_FORM, Method.GUARDIAN})


def _nothing_to_reaffirm(latest: ConsentEvent, method: str, reaffirm: bool) -> bool:
    """An unchanged decision is recorded again only when the form that made it must show it was
    made there (a re-consent prompt, sign-up, a guardian's approval: `reaffirm`), once."""
    return not reaffirm or latest.method == method


def _turn_off(
    *,
    user: User,
    purpose: Purpose,
    refusing: bool,
    method: str,
    actor: User | None,
    context: CollectionContext,
    reaffirm: bool = False,
    role: str | None = None,
    decided_at: datetime.datetime | None = None,
) -> ConsentEvent | None:
    _require_consent_basis(purpose)
    if not purpose.is_optional:
        raise ValidationError(
            f"“{purpose.name}” is needed for the service itself; to stop it, delete your account.",
            code="required",
        )
    from .policies import current_policy

    policy = current_policy()
    latest = _latest_event(user, purpose)
    if latest is not None and latest.decision == Decision.GIVEN:
        decision = Decision.WITHDRAWN
    elif not refusing:
        return None  # nothing given, nothing to withdraw
    elif (
        latest is not None
        and _same_version(latest, policy)
        and _nothing_to_reaffirm(latest, method, reaffirm)
    ):
        return None  # already off under this policy version
    else:
        decision = Decision.REFUSED
    event = _record(
        user=user,
        purpose=purpose,
        decision=decision,
        method=method,
        actor=actor,
        context=context,
        policy_version=policy,
        role=role,
        decided_at=decided_at,
    )
    if decision == Decision.WITHDRAWN and method != Method.REQUEST:
        # The company's other systems serving the purpose are told to stop too (a withdrawal
        # request carries that out, and is itself the one pushing).
        withdrawals.withdrawn(user=user, purpose_key=purpose.key, actor=actor)
    return event


@transaction.atomic
def consent_withdraw(
    *,
    user: User,
    purpose: Purpose,
    method: str,
    actor: User | None,
    context: CollectionContext = NO_CONTEXT,
    role: str | None = None,
) -> ConsentEvent | None:
    """Withdraw the consent `user` gave to an optional purpose; effective at once.

    Returns the new event, or None when consent was not given (nothing to withdraw).
    """
    return _turn_off(
        user=user,
        purpose=purpose,
        refusing=False,
        method=method,
        actor=actor,
        context=context,
        role=role,
    )


@transaction.atomic
def consent_refuse(
    *,
    user: User,
    purpose: Purpose,
    method: str,
    actor: User | None,
    context: CollectionContext = NO_CONTEXT,
    reaffirm: bool = False,
    role: str | None = None,
    decided_at: datetime.datetime | None = None,
) -> ConsentEvent | None:
    """Record that `user` declines an optional purpose they were offered.

    A refusal of a consent currently given is recorded as what it is: a withdrawal. Returns
    None when the purpose is already off under the current policy version.
    """
    return _turn_off(
        user=user,
        purpose=purpose,
        refusing=True,
        method=method,
        actor=actor,
        context=context,
        reaffirm=reaffirm,
        role=role,
        decided_at=decided_at,
    )


@transaction.atomic
def consent_choices_record(
    *,
    user: User,
    choices: Mapping[Purpose, bool],
    method: str,
    actor: User | None,
    context: CollectionContext = NO_CONTEXT,
    role: str | None = None,
) -> list[ConsentEvent]:
    """Record one form's choices (sign-up, re-consent): each ticked purpose given, each unticked
    one refused (or withdrawn if it was given). Required consent-based purposes listed with
    True are recorded as given: the form explained them and the user went on.

    All or nothing: once the service has ended, a form giving anything is refused whole.
    A choice the user had already made another way (the cookie banner, the API) under this
    version is recorded again as made on this form: the form is the proof they chose knowing
    the policy in force (without it the re-consent prompt would never be answered)."""
    if any(choices.values()):
        require_collection_open()
    events = []
    for purpose, chosen in choices.items():
        decide = consent_give if chosen else consent_refuse
        event = decide(
            user=user,
            purpose=purpose,
            method=method,
            actor=actor,
            context=context,
            reaffirm=method in REAFFIRMING_METHODS,
            role=role,
        )
        if event is not None:
            events.append(event)
    return events


@transaction.atomic
def consent_withdraw_all_optional(
    *, user: User, method: str, actor: User | None, role: str | None = None
) -> list[ConsentEvent]:
    """Withdraw every optional consent `user` has given (the withdraw-consent request).

    Idempotent: a second run finds nothing given and records nothing.
    """
    states = ledger.state_for(
        ledger.user_subject_key(user.pk), Purpose.objects.filter(is_optional=True)
    )
    given = {s.purpose_key for s in states if s.decision == Decision.GIVEN}
    events = []
    for purpose in Purpose.objects.filter(key__in=given):
        event = consent_withdraw(user=user, purpose=purpose, method=method, actor=actor, role=role)
        if event is not None:
            events.append(event)
    return events


# --- Disclosures ----------------------------------------------------------------------------------


def disclosure_record(
    *,
    user: User,
    third_party: ThirdParty,
    purpose: Purpose | None,
    data_categories: Iterable[str],
    description: str = "",
) -> Disclosure:
    """Log that `user`'s personal information went to `third_party`: the one way services
    record a sharing, so the user's "who received my data" is complete.

    It records a fact and never refuses: whether the sharing was allowed is the consent check
    API's question, asked before sharing.
    """
    return Disclosure.objects.create(
        user=user,
        third_party=third_party,
        purpose=purpose,
        data_categories=[str(c) for c in data_categories],
        description=description[:300],
    )


# --- Service tokens (the consent check API) -------------------------------------------------------

SERVICE_TOKEN_PREFIX = "svc_"  # noqa: S105 - a public marker, not a secret
SCOPE_CONSENT_CHECK = "consent:check"
SCOPES = {SCOPE_CONSENT_CHECK: "Ask whether a purpose may be processed for a user"}


@transaction.atomic
def service_token_create(
    *, name: str, scopes: Iterable[str], actor: User
) -> tuple[ServiceToken, str]:
    """A new service token. Returns the row and the secret, shown once and never stored.
    Only staff allowed to add service tokens (superusers, unless a role is granted it)."""
    if not actor.has_perm("consent.add_servicetoken"):
        raise PermissionDenied("Only staff allowed to add service tokens can create one.")
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(sorted(unknown))}.", code="scope")
    secret = SERVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ServiceToken.objects.create(
        name=name,
        prefix=secret[: len(SERVICE_TOKEN_PREFIX) + 6],
        key_hash=hash_token_secret(secret),
        scopes=scopes,
    )
    audit_append(
        action="service_token.created",
        actor_user_id=actor.pk,
        actor_role="staff",
        target_type="consent.servicetoken",
        target_id=token.pk,
        data={"scopes": scopes},
    )
    return token, secret


@transaction.atomic
def service_token_revoke(*, token: ServiceToken, actor: User) -> bool:
    """Revoke a token: its next request is refused. False if it was already revoked.
    Only staff allowed to change service tokens; seeing the list is not enough."""
    if not actor.has_perm("consent.change_servicetoken"):
        raise PermissionDenied("Only staff allowed to change service tokens can revoke one.")
    if not ServiceToken.objects.filter(pk=token.pk, active=True).update(active=False):
        return False
    token.active = False
    _service_token_changed(instance=token)  # update() sends no post_save
    audit_append(
        action="service_token.revoked",
        actor_user_id=actor.pk,
        actor_role="staff",
        target_type="consent.servicetoken",
        target_id=token.pk,
    )
    return True


def service_token_cache_key(secret: str) -> str:
    return _service_token_cache_key(hash_token_secret(secret))


def service_token_authenticate(
    secret: str, *, found: Mapping[str, Any] | None = None
) -> ServiceToken | None:
    """The active token for a presented secret, or None. Records when it was last used.

    `found`: what the caller read of the cache in one go, `service_token_cache_key(secret)`
    among the keys (missing keys left out), to spare a round trip.
    """
    key_hash = hash_token_secret(secret)
    cache_key = _service_token_cache_key(key_hash)
    # Cached by hash (a check API call must not cost a query for its token): a miss is cached
    # too, so guessing costs no query either. Saving or deleting a token drops its entry.
    cached = found.get(cache_key) if found is not None else cache.get(cache_key)
    if cached is None:
        row = ServiceToken.objects.filter(key_hash=key_hash, active=True).first()
        cached = (
            {"pk": row.pk, "name": row.name, "scopes": row.scopes, "used": row.last_used_at}
            if row
            else {}
        )
        cache.set(cache_key, cached, SERVICE_TOKEN_CACHE_TTL)
    if not cached:
        return None
    # Building a model instance costs more than the rest of this: each process keeps the one
    # it built for the entry it last read (a changed entry builds a new one).
    memo = _tokens_built.get(cache_key)
    if memo is not None and memo[0] == cached:
        token = memo[1]
    else:
        token = ServiceToken(
            pk=cached["pk"], name=cached["name"], scopes=cached["scopes"], key_hash=key_hash
        )
        token.last_used_at = cached["used"]
        _tokens_built[cache_key] = (cached, token)
    # "Last used" is written at most once a minute; the token's own cache entry is never
    # written again here, so a revocation (which drops it) cannot be undone by a racing call.
    # Each process asks the cache about it at most once a minute too: not a round trip a call.
    now = time.monotonic()
    if now - _used_marked_at.get(cache_key, -SERVICE_TOKEN_USED_EVERY) >= SERVICE_TOKEN_USED_EVERY:
        _used_marked_at[cache_key] = now
        if cache.add(f"{cache_key}:used", 1, SERVICE_TOKEN_USED_EVERY):
            ServiceToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


SERVICE_TOKEN_CACHE_TTL = 60
SERVICE_TOKEN_USED_EVERY = 60
# Per process: when this process last asked whether a token's "last used" was due, and the
# token instance built from each cache entry.
_used_marked_at: dict[str, float] = {}
_tokens_built: dict[str, tuple[dict[str, Any], ServiceToken]] = {}


def _service_token_cache_key(key_hash: str) -> str:
    return f"consent:service-token:{key_hash}"


@receiver(post_save, sender=ServiceToken, dispatch_uid="consent.service_token_saved")
@receiver(post_delete, sender=ServiceToken, dispatch_uid="consent.service_token_deleted")
def _service_token_changed(instance: ServiceToken, **kwargs: object) -> None:
    """A revoked, changed or deleted token stops working at once, cache or not."""
    cache_key = _service_token_cache_key(instance.key_hash)
    cache.delete(cache_key)
    transaction.on_commit(lambda: cache.delete(cache_key))
