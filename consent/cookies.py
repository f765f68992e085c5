"""Cookie consent: the visitor id, which cookies need consent, the current choices, recording them.

Essential cookies (the session, the CSRF token, `pp_visitor` naming an anonymous visitor's
consent record, a one-time notice after a form) are always on. Analytics and advertising
cookies follow the decisions on the purposes of that `cookie_category`: nothing is on before a
decision, and templates include a category's scripts only when `consent_allows` says so.

Where pages read the current choice: the ledger's cached projection (`ledger.state_for`), not a
mirror cookie. The ledger is the one truth and its cache is dropped on every event, so a choice
changed elsewhere (the consent center, the API, another device, a GPC signal, a withdrawal
request) shows on the very next page; a mirror cookie would go stale there, and the browser
could rewrite it. A page costs one cache read for the purposes and one for the state (Redis in
production); a visitor who never chose has no `pp_visitor` cookie and costs neither.

Choices made before signing in are merged into the user's ledger at login
(`visitor_choices_merge`); the rule is documented there.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.core import signing
from django.db import DatabaseError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from core.audit import audit_append

from . import ledger
from .models import (
    ConsentActor,
    ConsentEvent,
    Decision,
    LegalBasis,
    Method,
    PolicyVersion,
    Purpose,
)

if TYPE_CHECKING:
    from accounts.models import User

    from .services import CollectionContext

VISITOR_COOKIE = "pp_visitor"
# A choice is asked again after six months (the CNIL's recommendation for consent cookies).
VISITOR_COOKIE_MAX_AGE = 182 * 24 * 3600
_VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{32}")

# Banner categories, in the order shown. A purpose joins one through `Purpose.cookie_category`.
CATEGORIES: dict[str, Any] = {"analytics": _("Analytics"), "advertising": _("Advertising")}
UNDECIDED = (None, Decision.EXPIRED)


# --- The visitor id ---------------------------------------------------------------------------


def new_visitor_id() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits, 32 characters


_VISITOR_SALT = "consent.visitor"


def visitor_id_from_cookie(value: str) -> str | None:
    """The visitor id in a `pp_visitor` cookie value, or None if the portal did not sign it."""
    try:
        visitor_id = signing.Signer(salt=_VISITOR_SALT).unsign(value)
    except signing.BadSignature:
        return None
    return visitor_id if _VISITOR_ID.fullmatch(visitor_id) else None


def visitor_id_from(request: HttpRequest) -> str | None:
    """The visitor id of the request's `pp_visitor` cookie, if the portal issued it.

    The cookie is signed: an id a client makes up is ignored, so nobody can grow the ledger
    with invented visitors or write into another visitor's chain.
    """
    return visitor_id_from_cookie(request.COOKIES.get(VISITOR_COOKIE, ""))


def set_visitor_cookie(response: HttpResponseBase, visitor_id: str) -> None:
    """First-party and essential: it names the record of the visitor's own cookie choice."""
    response.set_cookie(
        VISITOR_COOKIE,
        signing.Signer(salt=_VISITOR_SALT).sign(visitor_id),
        max_age=VISITOR_COOKIE_MAX_AGE,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,  # on in production
        httponly=True,
        samesite="Lax",
    )


def _days(seconds: int) -> str:
    days = round(seconds / 86400)
    return f"{days} day{'s' if days != 1 else ''}"


def essential_cookies() -> list[tuple[str, str, str]]:
    """(name, what it is for, how long it lives) of every cookie set without asking."""
    return [
        (
            settings.SESSION_COOKIE_NAME,
            "Keeps you signed in.",
            f"Until you sign out, {_days(settings.SESSION_COOKIE_AGE)} at most",
        ),
        (
            settings.CSRF_COOKIE_NAME,
            "Protects our forms against forged requests.",
            _days(settings.CSRF_COOKIE_AGE),
        ),
        (
            VISITOR_COOKIE,
            "A random id under which your cookie choice is recorded, so we can honour it.",
            _days(VISITOR_COOKIE_MAX_AGE),
        ),
        ("messages", "A one-time notice after you submit a form.", "Until it is shown"),
    ]


def essential_cookie_names() -> frozenset[str]:
    return frozenset(name for name, _what, _how_long in essential_cookies())


# --- Purposes, cached: the banner reads them on every page -------------------------------------


def _decidable(purpose: Purpose) -> bool:
    return purpose.active and purpose.legal_basis == LegalBasis.CONSENT and purpose.is_optional


def _purposes() -> list[Purpose]:
    from .selectors import active_purposes

    return [
        p
        for p in active_purposes()
        if _decidable(p) and (p.cookie_category in CATEGORIES or p.refused_by_gpc)
    ]


def cookie_purposes() -> list[Purpose]:
    """Active, optional, consent-based purposes decided on the cookie banner."""
    return [p for p in _purposes() if p.cookie_category in CATEGORIES]


def gpc_purposes() -> list[Purpose]:
    """Active, optional, consent-based purposes a Global Privacy Control signal refuses."""
    return [p for p in _purposes() if p.refused_by_gpc]


@receiver(post_save, sender=Purpose, dispatch_uid="consent.cookies.purposes_changed")
@receiver(post_delete, sender=Purpose, dispatch_uid="consent.cookies.purposes_deleted")
def _purposes_changed(**kwargs: object) -> None:
    from .selectors import purposes_changed

    purposes_changed()
    transaction.on_commit(purposes_changed)


# --- Whose choices: a user or an anonymous visitor ---------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Whose ledger a request's choices go to: the signed-in user's, else the visitor's."""

    key: str
    user: User | None = None
    visitor_id: str | None = None


def visitor_subject(visitor_id: str) -> Subject:
    return Subject(key=ledger.visitor_subject_key(visitor_id), visitor_id=visitor_id)


def user_subject(user: User) -> Subject:
    return Subject(key=ledger.user_subject_key(user.pk), user=user)


def subject_of(request: HttpRequest) -> Subject | None:
    """None for a visitor without a visitor id: nothing is recorded for them, so nothing is on."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user_subject(user)  # type: ignore[arg-type]
    visitor_id = visitor_id_from(request)
    return visitor_subject(visitor_id) if visitor_id else None


def latest_events(subject_key: str, purposes: Sequence[Purpose]) -> dict[int, ConsentEvent]:
    """The subject's last event per purpose, read from the database (not the cache)."""
    latest: dict[int, ConsentEvent] = {}
    events = ConsentEvent.objects.filter(
        subject_key=subject_key, purpose__in=[p.pk for p in purposes]
    ).order_by("seq")
    for event in events:
        latest[event.purpose_id] = event
    return latest


def decision_record(
    *,
    subject: Subject,
    purpose: Purpose,
    decision: str,
    method: str,
    policy_version: PolicyVersion | None,
    context: CollectionContext | None = None,
) -> ConsentEvent:
    """Append one decision taken by the subject themselves, with an audit row (ids only).

    The audit row has the shape of `services._record`'s. Where the decision was collected (IP
    address, user agent) is kept for users only, erasable with their account: an anonymous
    visitor's would be personal data nobody could ever ask us to erase.
    """
    user = subject.user
    event = ledger.consent_record(
        subject_key=subject.key,
        purpose=purpose,
        decision=decision,
        method=method,
        actor=ConsentActor.SELF,
        actor_user_id=user.pk if user is not None else None,
        policy_version=policy_version,
        user_id=user.pk if user is not None else None,
        ip_address=context.ip_address if user is not None and context else None,
        user_agent=context.user_agent if user is not None and context else "",
    )
    audit_append(
        action=f"consent.{decision}",
        actor_user_id=user.pk if user is not None else None,
        actor_role="requester",
        target_type="accounts.user" if user is not None else "consent.visitor",
        target_id=user.pk if user is not None else subject.key,
        data={"event": str(event.uuid), "purpose": purpose.key, "method": method},
    )
    return event


# --- The current choice, as pages see it --------------------------------------------------------


@dataclass(frozen=True)
class CategoryChoice:
    key: str
    label: str
    purposes: tuple[Purpose, ...]
    allowed: bool
    decided: bool
    refused_by_gpc: bool


@dataclass(frozen=True)
class CookieConsent:
    """The request's cookie choices: what the banner, the settings and `consent_allows` show."""

    categories: tuple[CategoryChoice, ...]
    gpc: bool
    restricted: bool = False  # optional processing stopped at the user's request
    allowed: Mapping[str, bool] = field(default_factory=dict)  # templates: cc.allowed.analytics

    @property
    def decided(self) -> bool:
        """Every category offered has a decision: the banner stays hidden."""
        return all(c.decided for c in self.categories)

    def allows(self, category: str) -> bool:
        return self.allowed.get(category, False)


def _user_facts(user: User) -> tuple[bool, bool]:
    """(is a minor, has stopped optional processing), from one profile row."""
    from .services import is_minor_birth_date

    row = (
        Profile.objects.filter(user=user)
        .values_list("birth_date", "region", "optional_processing_stopped_at")
        .first()
    )
    if row is None:
        return False, False
    return is_minor_birth_date(row[0], row[1]), row[2] is not None


def offered_purposes(subject: Subject | None, *, minor: bool | None = None) -> list[Purpose]:
    """Cookie purposes the subject may decide on: a minor is never offered one not for minors.

    The profile is read only when a purpose is not for minors and `minor` is not given.
    """
    purposes = cookie_purposes()
    if subject is None or subject.user is None or all(p.offered_to_minors for p in purposes):
        return purposes
    if minor is None:
        minor = _user_facts(subject.user)[0]
    return [p for p in purposes if p.offered_to_minors or not minor]


def _compute(request: HttpRequest) -> CookieConsent:
    from .gpc import gpc_in_force

    subject = subject_of(request)
    user = subject.user if subject is not None else None
    facts: tuple[bool, bool] | None = None
    if user is not None and not all(p.offered_to_minors for p in cookie_purposes()):
        facts = _user_facts(user)
    purposes = offered_purposes(subject, minor=facts[0] if facts else None)
    states = {s.purpose_key: s for s in ledger.state_for(subject.key, purposes)} if subject else {}
    # A choice of this device's that disagrees with the account's, not yet answered: off until
    # the person says which to keep (one of the two is a refusal).
    unsettled = {c.purpose_key for c in pending_conflicts(request)} if user is not None else set()
    categories = []
    for key, label in CATEGORIES.items():
        members = tuple(p for p in purposes if p.cookie_category == key)
        if not members:
            continue
        member_states = [states.get(p.key) for p in members]
        categories.append(
            CategoryChoice(
                key=key,
                label=str(label),
                purposes=members,
                allowed=all(s is not None and s.allowed for s in member_states)
                and not any(p.key in unsettled for p in members),
                decided=all(s is not None and s.decision not in UNDECIDED for s in member_states),
                refused_by_gpc=any(p.refused_by_gpc for p in members),
            )
        )
    # A restriction of processing stops optional processing whatever was consented to; the
    # profile is read for it only when something would otherwise be allowed.
    restricted = False
    if user is not None and any(c.allowed for c in categories):
        restricted = (facts or _user_facts(user))[1]
    return CookieConsent(
        categories=tuple(categories),
        gpc=gpc_in_force(request),
        restricted=restricted,
        allowed={c.key: c.allowed and not restricted for c in categories},
    )


def cookie_consent_for(request: HttpRequest) -> CookieConsent:
    """The request's cookie choices, computed once per request."""
    consent = getattr(request, "_cookie_consent", None)
    if consent is None:
        consent = _compute(request)
        request._cookie_consent = consent  # type: ignore[attr-defined]
    return consent


def consent_allows(request: HttpRequest, category: str) -> bool:
    """May the page set cookies or load scripts of this category? False until the visitor says."""
    return cookie_consent_for(request).allows(category)


# --- Recording choices --------------------------------------------------------------------------


def _visitor_decide(
    *,
    subject: Subject,
    purpose: Purpose,
    give: bool,
    latest: ConsentEvent | None,
    policy: PolicyVersion | None,
) -> ConsentEvent | None:
    """The consent services' rules, for a visitor: nothing is recorded when nothing changes, and
    turning off a consent that was given is recorded as what it is, a withdrawal."""
    policy_id = policy.pk if policy is not None else None
    same_version = latest is not None and latest.policy_version_id == policy_id
    if give:
        if latest is not None and latest.decision == Decision.GIVEN and same_version:
            return None
        decision = Decision.GIVEN
    elif latest is not None and latest.decision == Decision.GIVEN:
        decision = Decision.WITHDRAWN
    elif same_version:
        return None  # already off under this policy version
    else:
        decision = Decision.REFUSED
    return decision_record(
        subject=subject,
        purpose=purpose,
        decision=decision,
        method=Method.COOKIE_BANNER,
        policy_version=policy,
    )


@transaction.atomic
def cookie_choices_record(
    *,
    subject: Subject,
    choices: Mapping[str, bool],
    gpc: bool = False,
    context: CollectionContext | None = None,
) -> list[ConsentEvent]:
    """Record the banner's choice per category: every purpose of a category ticked is given,
    every other one refused (or withdrawn if it was given). Method `cookie_banner`, actor self.

    With `gpc`, the signal is recorded first where it changes something, so that the explicit
    choice comes after it in the ledger and wins over it from then on (see `consent.gpc`).
    """
    from . import gpc as gpc_module
    from .services import NO_CONTEXT, consent_choices_record, require_collection_open

    if any(choices.values()):
        require_collection_open()  # after the service's end, only refusals are recorded
    if gpc:
        gpc_module.gpc_signal_apply(subject=subject, context=context)
    purposes = offered_purposes(subject)
    wanted = {p: bool(choices.get(p.cookie_category, False)) for p in purposes}
    if subject.user is not None:
        return consent_choices_record(
            user=subject.user,
            choices=wanted,
            method=Method.COOKIE_BANNER,
            actor=subject.user,
            context=context or NO_CONTEXT,
        )
    from .policies import current_policy

    policy = current_policy()
    latest = latest_events(subject.key, purposes)
    events = []
    for purpose, give in wanted.items():
        event = _visitor_decide(
            subject=subject,
            purpose=purpose,
            give=give,
            latest=latest.get(purpose.pk),
            policy=policy,
        )
        if event is not None:
            events.append(event)
    return events


# --- Choices made before signing in -------------------------------------------------------------

# Where a sign-in keeps the device's choices that disagree with the account's, until answered.
CONFLICTS_SESSION_KEY = "consent.cookie_conflicts"


def _allows(decision: str) -> bool:
    return decision == Decision.GIVEN


@dataclass(frozen=True)
class ChoiceConflict:
    """A cookie choice made on this device while signed out that disagrees with the account's
    own, earlier decision: the person is asked which to keep (see `visitor_choices_merge`)."""

    purpose_key: str
    device_decision: str
    device_at: datetime.datetime
    device_over_gpc: bool  # an opt-in made over the browser's GPC signal
    account_decision: str
    account_at: datetime.datetime
    account_method: str

    def to_session(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose_key,
            "device": [self.device_decision, self.device_at.isoformat(), self.device_over_gpc],
            "account": [self.account_decision, self.account_at.isoformat(), self.account_method],
        }

    @classmethod
    def from_session(cls, data: Mapping[str, Any]) -> ChoiceConflict:
        device, account = data["device"], data["account"]
        return cls(
            purpose_key=str(data["purpose"]),
            device_decision=str(device[0]),
            device_at=datetime.datetime.fromisoformat(device[1]),
            device_over_gpc=bool(device[2]),
            account_decision=str(account[0]),
            account_at=datetime.datetime.fromisoformat(account[1]),
            account_method=str(account[2]),
        )


@dataclass(frozen=True)
class MergeOutcome:
    events: list[ConsentEvent]  # the device's choices carried into the account
    conflicts: list[ChoiceConflict]  # the device's later choices the person must confirm
    account_kept: bool  # an older choice of the device's gave way to the account's own


def _carry(
    *,
    user: User,
    purpose: Purpose,
    give: bool,
    over_gpc: bool,
    context: CollectionContext,
    decided_at: datetime.datetime | None,
) -> list[ConsentEvent]:
    """Record a choice of the device's as the user's own: method `cookie_banner`, actor self.

    An opt-in the visitor made over their browser's GPC signal stays an opt-in that wins over
    the signal: the signal's refusal is recorded for the user first when their ledger has none
    for that purpose, so the opt-in follows it there as it did in the visitor's.
    """
    from . import gpc as gpc_module
    from .services import consent_give, consent_refuse

    owner = user_subject(user)
    events: list[ConsentEvent | None] = []
    if give and over_gpc and not gpc_module.has_gpc_event(owner.key, purpose):
        mine = latest_events(owner.key, [purpose]).get(purpose.pk)
        events.append(
            gpc_module.gpc_refusal_record(
                subject=owner, purpose=purpose, latest=mine, context=context
            )
        )
    # None when the user already holds it; after a signal in their ledger a "given" wins.
    decide = consent_give if give else consent_refuse
    events.append(
        decide(
            user=user,
            purpose=purpose,
            method=Method.COOKIE_BANNER,
            actor=user,
            context=context,
            decided_at=decided_at,
        )
    )
    return [e for e in events if e is not None]


@transaction.atomic
def visitor_choices_merge(
    *, visitor_id: str, user: User, context: CollectionContext | None = None
) -> MergeOutcome:
    """Carry the cookie choices made on this device before signing in into the user's ledger.

    The rule, per cookie purpose, for the visitor's last decision made on the cookie banner (a
    GPC refusal is not a choice; the signal is honoured for the user on its own):
    - the account holds a decision made at the same time or later: the account's stands,
      whatever its method (an older choice never overrides a newer one);
    - the account holds no decision, or one that agrees: the device's is carried over with the
      time it was made (`decided_at`), unless the account already holds it;
    - the account's earlier decision disagrees: nothing is recorded, and the person is asked
      which to keep (`conflicts`; `cookie_conflicts_resolve`). The device's choice was made
      signed out, maybe by someone else on this device: it never silently overwrites a decision
      the person took in their account.
    """
    from . import gpc as gpc_module
    from .services import NO_CONTEXT

    visitor = visitor_subject(visitor_id)
    owner = user_subject(user)
    purposes = offered_purposes(owner)
    theirs = latest_events(visitor.key, purposes)
    if not theirs:
        return MergeOutcome(events=[], conflicts=[], account_kept=False)
    own = latest_events(owner.key, purposes)
    context = context or NO_CONTEXT
    events: list[ConsentEvent] = []
    conflicts: list[ChoiceConflict] = []
    account_kept = False
    for purpose in purposes:
        chosen = theirs.get(purpose.pk)
        if chosen is None or chosen.method != Method.COOKIE_BANNER:
            continue
        mine = own.get(purpose.pk)
        disagree = (
            mine is not None
            and mine.decision not in UNDECIDED
            and _allows(mine.decision) != _allows(chosen.decision)
        )
        if mine is not None and mine.made_at >= chosen.made_at:
            account_kept = account_kept or disagree
            continue  # the user's own later decision stands
        over_gpc = _allows(chosen.decision) and gpc_module.given_over_gpc(visitor.key, chosen)
        if mine is not None and disagree:
            conflicts.append(
                ChoiceConflict(
                    purpose_key=purpose.key,
                    device_decision=chosen.decision,
                    device_at=chosen.made_at,
                    device_over_gpc=over_gpc,
                    account_decision=mine.decision,
                    account_at=mine.made_at,
                    account_method=mine.method,
                )
            )
            continue
        events += _carry(
            user=user,
            purpose=purpose,
            give=_allows(chosen.decision),
            over_gpc=over_gpc,
            context=context,
            decided_at=chosen.made_at,
        )
    return MergeOutcome(events=events, conflicts=conflicts, account_kept=account_kept)


def pending_conflicts(request: HttpRequest) -> list[ChoiceConflict]:
    """The device's choices a signed-in person has still to confirm or drop (see the merge)."""
    session = getattr(request, "session", None)
    stored = session.get(CONFLICTS_SESSION_KEY) if session is not None else None
    if not stored or session is None:
        return []
    try:
        return [ChoiceConflict.from_session(item) for item in stored]
    except (KeyError, IndexError, TypeError, ValueError):
        session.pop(CONFLICTS_SESSION_KEY, None)  # not ours: ask nothing, keep the account's
        return []


@transaction.atomic
def cookie_conflicts_resolve(
    *,
    user: User,
    conflicts: Sequence[ChoiceConflict],
    use_device: Collection[str],
    context: CollectionContext | None = None,
) -> list[ConsentEvent]:
    """The person's answer: the device's choice for the purposes in `use_device` (recorded now,
    as the person's decision at this moment), the account's own for the others (nothing to
    record). A purpose no longer offered is skipped."""
    from .services import NO_CONTEXT

    offered = {p.key: p for p in offered_purposes(user_subject(user))}
    events: list[ConsentEvent] = []
    for conflict in conflicts:
        purpose = offered.get(conflict.purpose_key)
        if purpose is None or conflict.purpose_key not in use_device:
            continue
        events += _carry(
            user=user,
            purpose=purpose,
            give=_allows(conflict.device_decision),
            over_gpc=conflict.device_over_gpc,
            context=context or NO_CONTEXT,
            decided_at=None,
        )
    return events


@receiver(user_logged_in, dispatch_uid="consent.cookies.merge_at_login")
def merge_visitor_choices_at_login(
    sender: object, request: HttpRequest | None, user: User, **kwargs: object
) -> None:
    visitor_id = visitor_id_from(request) if request is not None else None
    if request is None or visitor_id is None:
        return
    from django.contrib import messages

    from .services import collection_context

    try:
        outcome = visitor_choices_merge(
            visitor_id=visitor_id, user=user, context=collection_context(request)
        )
    except DatabaseError:
        # Signing in must not fail for this. Nothing is half-merged (one transaction) and
        # nothing is on that was not chosen: the banner simply asks the user again.
        import logging

        logging.getLogger(__name__).warning("cookie choices could not be merged at login")
        return
    if outcome.conflicts:
        # Asked on the next page (consent.reconsent's middleware); off until answered.
        request.session[CONFLICTS_SESSION_KEY] = [c.to_session() for c in outcome.conflicts]
    elif outcome.account_kept:
        messages.info(
            request,
            _(
                "Your account's cookie choices now apply on this device: you made them after "
                "the choice made here while you were signed out."
            ),
        )
