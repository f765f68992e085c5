"""The invitation to a guardian: signed, expiring, single-use links; who may be a guardian; the
guardian's acceptance, approval (recorded in the consent ledger as theirs) or decline.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import jurisdictions
from accounts.models import Profile, User
from consent.models import ConsentActor, LegalBasis, Method, Purpose
from consent.services import consent_choices_record, purposes_offered_to
from core.models import AuditLogEntry
from guardianship import tasks, verification
from guardianship.flow.common import (
    APPROVAL_SALT,
    GUARDIAN_ROLE,
    INVITATION_SALT,
    INVITATIONS_PER_DAY,
    NEEDS_GUARDIAN,
    PROVIDER_SALT,
    RESEND_INTERVAL,
    UNDECIDED,
    ErasureReason,
    LinkRefused,
    audit,
    bound_guardianship,
    extend_decision,
    live_guardianship,
    minor_account_for,
    new_nonce,
    queue_task,
    second_confirmation_sent,
    setting_days,
    waiting_status,
)
from guardianship.models import Guardianship, MinorAccount
from notices.models import Category
from notices.services import notify


def _normalized_email(value: str) -> str:
    email = (value or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"guardian_email": "Enter a valid e-mail address, like name@example.com."}
        ) from None
    return email


def _check_invitation_rate(minor: User, live: Guardianship | None, now: datetime.datetime) -> None:
    if live is not None and live.invited_at > now - RESEND_INTERVAL:
        raise ValidationError(
            "An invitation went out a moment ago. Give it a minute to arrive before sending "
            "another."
        )
    sent_today = AuditLogEntry.objects.filter(
        action="guardian.invited",
        target_type="accounts.user",
        target_id=str(minor.pk),
        at__gt=now - datetime.timedelta(days=1),
    ).count()
    if sent_today >= INVITATIONS_PER_DAY:
        raise ValidationError(
            f"You have sent {INVITATIONS_PER_DAY} invitations today, the most we send in a day. "
            "Please try again tomorrow."
        )


@transaction.atomic
def guardian_invite(*, minor: User, guardian_email: str) -> Guardianship:
    """Send (or re-send, or re-address) the invitation to the guardian the minor named.

    One invitation is live at a time: a new one replaces the last unanswered one, whose link
    stops working. Once the guardian has started to verify, the address can no longer change.
    """
    account = MinorAccount.objects.select_for_update().filter(user=minor).first()
    if account is None or account.status not in NEEDS_GUARDIAN:
        raise ValidationError("Your account is not waiting for a guardian's approval.")
    email = _normalized_email(guardian_email)
    own = {minor.email.lower()} | {
        e.lower() for e in EmailAddress.objects.filter(user=minor).values_list("email", flat=True)
    }
    if email in own:
        raise ValidationError(
            {"guardian_email": "Give your parent's or guardian's e-mail address, not your own."}
        )
    now = timezone.now()
    live = (
        Guardianship.objects.select_for_update()
        .filter(minor=minor, status__in=Guardianship.LIVE_STATUSES)
        .first()
    )
    if live is not None and (live.status != Guardianship.Status.INVITED or live.accepted_at):
        raise ValidationError(
            "Your guardian has already started to approve your account: the invitation can no "
            "longer be changed."
        )
    if account.decide_by is not None and account.decide_by <= now:
        raise ValidationError(
            "The time for your guardian's approval has passed: your account is being deleted."
        )
    _check_invitation_rate(minor, live, now)
    expires_at = now + setting_days("GUARDIAN_INVITATION_DAYS")
    if account.decide_by is not None:
        expires_at = min(expires_at, account.decide_by)
    if live is None:
        live = Guardianship.objects.create(
            minor=minor,
            guardian_email=email,
            invitation_nonce=new_nonce(),
            invited_at=now,
            expires_at=expires_at,
        )
    else:
        live.guardian_email = email
        live.invitation_nonce = new_nonce()
        live.invited_at = now
        live.expires_at = expires_at
        live.save(update_fields=["guardian_email", "invitation_nonce", "invited_at", "expires_at"])
    audit(
        "guardian.invited", actor=minor, role="requester", minor_id=minor.pk, guardianship=live.pk
    )
    queue_task(tasks.send_guardian_email, live.pk, "invitation")
    return live


def guardian_invitation_resend(*, minor: User) -> Guardianship:
    """Send the unanswered invitation again, with a new link (the old one stops working)."""
    live = live_guardianship(minor)
    if live is None:
        raise ValidationError({"guardian_email": "Give your guardian's e-mail address first."})
    return guardian_invite(minor=minor, guardian_email=live.guardian_email)


def invitation_token(guardianship: Guardianship) -> str:
    return signing.dumps(
        {"g": guardianship.pk, "n": guardianship.invitation_nonce}, salt=INVITATION_SALT
    )


def approval_token(guardianship: Guardianship) -> str:
    return signing.dumps(
        {"g": guardianship.pk, "n": guardianship.invitation_nonce}, salt=APPROVAL_SALT
    )


def provider_state(guardianship: Guardianship) -> str:
    return signing.dumps(
        {"g": guardianship.pk, "n": guardianship.invitation_nonce}, salt=PROVIDER_SALT
    )


@dataclass(frozen=True)
class SignedLink:
    guardianship: Guardianship
    nonce: str
    current: bool  # the nonce is the guardianship's current one


def link_open(token: str, *, salt: str) -> SignedLink:
    """The guardianship a signed link names. LinkRefused("invalid") if it was altered or is not
    ours, ("expired") once GUARDIAN_INVITATION_DAYS have passed since it was signed."""
    max_age = setting_days("GUARDIAN_INVITATION_DAYS")
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkRefused("expired") from None
    except signing.BadSignature:
        raise LinkRefused("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("g"), int):
        raise LinkRefused("invalid")
    nonce = str(payload.get("n", ""))
    guardianship = (
        Guardianship.objects.select_related("minor", "guardian").filter(pk=payload["g"]).first()
    )
    if guardianship is None:
        raise LinkRefused("used")  # the minor's data was erased meanwhile
    return SignedLink(
        guardianship, nonce, constant_time_compare(nonce, guardianship.invitation_nonce)
    )


def invitation_open(token: str) -> Guardianship:
    """The invitation a link opens, if it can still be answered; LinkRefused otherwise."""
    link = link_open(token, salt=INVITATION_SALT)
    guardianship = link.guardianship
    if (
        not link.current
        or guardianship.status != Guardianship.Status.INVITED
        or guardianship.accepted_at is not None
    ):
        raise LinkRefused("used", guardianship)
    if guardianship.expires_at <= timezone.now():
        raise LinkRefused("expired", guardianship)
    if waiting_status(guardianship.minor_id) not in NEEDS_GUARDIAN:
        raise LinkRefused("used", guardianship)
    return guardianship


def guardian_eligibility_problem(guardian: User, guardianship: Guardianship) -> str | None:
    """Why `guardian` may not act as this minor's guardian, or None if they may."""
    minor = guardianship.minor
    if guardian.pk == minor.pk or guardian.email.lower() == minor.email.lower():
        return (
            "This invitation is for your parent or guardian: you cannot approve your own account."
        )
    if not EmailAddress.objects.filter(user=guardian, primary=True, verified=True).exists():
        return "Confirm your own e-mail address first: only a verified account can approve."
    profile = Profile.objects.filter(user=guardian).first()
    if profile is None or profile.birth_date is None:
        return "Add your date of birth to your profile first: only an adult can approve."
    if jurisdictions.is_under_full_age(profile.birth_date, profile.region):
        return "Only an adult can approve a minor's account."
    if (
        MinorAccount.objects.filter(user=guardian)
        .exclude(status=MinorAccount.Status.ENDED)
        .exists()
    ):
        return "An account that itself needs a guardian's approval cannot approve another."
    invited = EmailAddress.objects.filter(
        user=guardian, verified=True, email__iexact=guardianship.guardian_email
    )
    if not invited.exists():
        # Whoever holds the link must also hold the mailbox it was sent to: otherwise a minor
        # could approve themselves from a second account.
        return (
            "This invitation was sent to another e-mail address: sign in with the account that "
            "uses the address the invitation reached, or create one with it."
        )
    return None


def _require_eligible(guardian: User, guardianship: Guardianship) -> None:
    problem = guardian_eligibility_problem(guardian, guardianship)
    if problem:
        raise ValidationError(problem, code="not_eligible")


@transaction.atomic
def guardian_accept(*, guardianship: Guardianship, guardian: User, nonce: str) -> Guardianship:
    """The guardian, signed in, accepts the invitation: the link is used up, the guardianship
    is theirs, and the verification method of the minor's region starts."""
    locked = (
        Guardianship.objects.select_for_update().select_related("minor").get(pk=guardianship.pk)
    )
    if (
        locked.status != Guardianship.Status.INVITED
        or locked.accepted_at is not None
        or not constant_time_compare(nonce, locked.invitation_nonce)
    ):
        raise LinkRefused("used", locked)
    if locked.expires_at <= timezone.now():
        raise LinkRefused("expired", locked)
    account = MinorAccount.objects.select_for_update().filter(user_id=locked.minor_id).first()
    if account is None or account.status not in NEEDS_GUARDIAN:
        raise LinkRefused("used", locked)
    _require_eligible(guardian, locked)
    method = verification.method_for_region(account.region)
    now = timezone.now()
    updates: dict[str, Any] = {
        "guardian": guardian,
        "accepted_at": now,
        "verification_method": method.key,
        "invitation_nonce": new_nonce(),
        **method.accept_updates(now),
    }
    for name, value in updates.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(updates))
    if locked.second_confirmation_after is not None:
        extend_decision(
            locked.minor_id,
            locked.second_confirmation_after + setting_days("GUARDIAN_INVITATION_DAYS"),
        )
        if locked.second_confirmation_after <= now:
            queue_task(tasks.send_guardian_second_confirmation, locked.pk)
    audit(
        "guardian.accepted",
        actor=guardian,
        role=GUARDIAN_ROLE,
        minor_id=locked.minor_id,
        guardianship=locked.pk,
        method=method.key,
    )
    return locked


def guardian_next_step(guardianship: Guardianship) -> str:
    """Where an accepted guardianship stands, for the guardian's status page."""
    method = verification.method_of(guardianship)
    if guardianship.status not in UNDECIDED:
        return guardianship.status
    if method.key == Guardianship.Method.EMAIL_PLUS:
        sent = second_confirmation_sent(guardianship.pk)
        return "email_sent" if sent else "wait_second_confirmation"
    if method.is_verified(guardianship):
        return "approve"
    if method.key == Guardianship.Method.DOCUMENT:
        return "in_review" if guardianship.status == Guardianship.Status.IN_REVIEW else "upload"
    return "provider"


@dataclass(frozen=True)
class ApprovalPurposes:
    """What the guardian sees: the uses needed for the service (explained), the optional ones
    to choose, and those withheld because the verification method does not allow sharing."""

    required: list[Purpose]
    optional: list[Purpose]
    withheld: list[Purpose]


def _shares(purpose: Purpose) -> bool:
    return any(t.active for t in purpose.third_parties.all())


def approval_purposes(guardianship: Guardianship) -> ApprovalPurposes:
    account = minor_account_for(guardianship.minor)
    if guardianship.verification_method:
        method = verification.method_of(guardianship)
    else:
        method = verification.method_for_region(account.region if account else "")
    # Never a purpose not for minors, whatever the minor's profile says.
    purposes = [p for p in purposes_offered_to(guardianship.minor) if p.offered_to_minors]
    withheld = [
        p
        for p in purposes
        if p.legal_basis == LegalBasis.CONSENT and not method.allows_third_parties and _shares(p)
    ]
    return ApprovalPurposes(
        required=[p for p in purposes if not p.is_optional],
        optional=[p for p in purposes if p.is_optional and p not in withheld],
        withheld=withheld,
    )


@transaction.atomic
def guardian_approve(
    *,
    guardianship: Guardianship,
    guardian: User,
    chosen: Mapping[str, bool],
    nonce: str = "",
) -> Guardianship:
    """The verified guardian approves the minor's account, with their choice for each optional
    purpose (`chosen`: purpose key -> ticked). Recorded in the consent ledger with actor and
    method `guardian`; the minor's account becomes active.

    For email_plus the approval comes through the second confirmation's link, whose `nonce`
    must be the current one. A key that is not offered for this approval is refused.
    """
    locked = bound_guardianship(guardianship, guardian)
    _require_eligible(guardian, locked)
    method = verification.method_of(locked)
    if not method.is_verified(locked):
        raise ValidationError("The verification of your identity is not complete yet.")
    if method.key == Guardianship.Method.EMAIL_PLUS and not constant_time_compare(
        nonce, locked.invitation_nonce
    ):
        raise LinkRefused("used", locked)
    account = MinorAccount.objects.select_for_update().get(user_id=locked.minor_id)
    if account.status not in NEEDS_GUARDIAN:
        raise LinkRefused("used", locked)
    if account.adult_on <= timezone.localdate():
        raise ValidationError("This person has reached the age at which they decide alone.")
    purposes = approval_purposes(locked)
    unknown = {key for key, ticked in chosen.items() if ticked} - {p.key for p in purposes.optional}
    if unknown:
        raise ValidationError("Some choices are not offered for this account; reload the page.")
    now = timezone.now()
    locked.status = Guardianship.Status.APPROVED
    locked.approved_at = now
    locked.invitation_nonce = new_nonce()
    locked.save(update_fields=["status", "approved_at", "invitation_nonce"])
    account.status = MinorAccount.Status.ACTIVE
    account.approved_at = now
    account.decide_by = None
    account.save(update_fields=["status", "approved_at", "decide_by"])
    choices = {p: bool(chosen.get(p.key)) for p in purposes.optional}
    choices.update(
        {
            p: True
            for p in purposes.required
            if p.legal_basis == LegalBasis.CONSENT and p not in purposes.withheld
        }
    )
    for purpose, given in choices.items():
        if given:
            verification.third_party_consent_require(
                minor=locked.minor, guardian=guardian, purpose=purpose
            )
    consent_choices_record(
        user=locked.minor,
        choices=choices,
        method=Method.GUARDIAN,
        actor=guardian,
        role=ConsentActor.GUARDIAN,
    )
    audit(
        "guardian.approved",
        actor=guardian,
        role=GUARDIAN_ROLE,
        minor_id=locked.minor_id,
        guardianship=locked.pk,
        method=method.key,
    )
    _tell_approved(locked)
    return locked


def _tell_approved(guardianship: Guardianship) -> None:
    notify(
        user=guardianship.minor,
        category=Category.ACCOUNT_SECURITY,
        title="Your guardian approved your account",
        body=(
            "Your parent or guardian approved your account: you can use it now. They chose the "
            "optional uses of your information for you; your consent center shows each choice, "
            "and you can switch any of them off at any time."
        ),
        link=reverse("dashboard:home"),
    )
    if guardianship.guardian is not None:
        notify(
            user=guardianship.guardian,
            category=Category.ACCOUNT_SECURITY,
            title="You approved a minor's account",
            body=(
                "You approved the account of a minor in your care. From your guardian dashboard "
                "you can see their information, change the choices you made for them, ask for "
                "a copy or a deletion, or withdraw your approval."
            ),
            link=reverse("guardian:home"),
        )


@transaction.atomic
def guardian_decline(
    *, guardianship: Guardianship, guardian: User | None, nonce: str = ""
) -> Guardianship:
    """The guardian declines: the minor's account is erased. From the invitation link (with its
    current `nonce`, signed in or not), or by the guardian who accepted it."""
    locked = Guardianship.objects.select_for_update().get(pk=guardianship.pk)
    bound = guardian is not None and locked.guardian_id == guardian.pk
    by_link = (
        locked.guardian_id is None
        and locked.accepted_at is None
        and constant_time_compare(nonce, locked.invitation_nonce)
    )
    if locked.status not in UNDECIDED or not (bound or by_link):
        raise LinkRefused("used", locked)
    if guardian is not None and guardian.pk == locked.minor_id:
        raise ValidationError("This invitation is for your parent or guardian.")
    locked.status = Guardianship.Status.DECLINED
    locked.declined_at = timezone.now()
    locked.invitation_nonce = new_nonce()
    locked.save(update_fields=["status", "declined_at", "invitation_nonce"])
    audit(
        "guardian.declined",
        actor=guardian,
        role=GUARDIAN_ROLE,
        minor_id=locked.minor_id,
        guardianship=locked.pk,
    )
    from .erasure import minor_erasure_start  # erasure -> steps -> invitation: within the app

    account = MinorAccount.objects.filter(user_id=locked.minor_id).first()
    if account is not None:
        minor_erasure_start(minor_account_id=account.pk, reason=ErasureReason.DECLINED)
    return locked
