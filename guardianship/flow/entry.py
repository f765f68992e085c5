"""Who waits for a guardian: a minor found at sign-up, by a profile change, or by staff."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from allauth.usersessions.models import UserSession
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import jurisdictions
from accounts import ports as account_ports
from accounts.models import ApiToken, Profile, User
from consent.models import Method
from consent.selectors import facts_changed
from consent.services import consent_withdraw_all_optional
from guardianship import tasks
from guardianship.flow.common import (
    NEEDS_GUARDIAN,
    UNDECIDED,
    audit,
    minor_account_for,
    new_nonce,
    queue_task,
    role_of,
    setting_days,
)
from guardianship.models import Guardianship, MinorAccount
from notices.models import Category
from notices.services import notify


@transaction.atomic
def minor_account_open(
    *,
    user: User,
    birth_date: datetime.date,
    region: str,
    reason: str,
    actor: User | None,
) -> MinorAccount:
    """The user needs a guardian's approval: open (or reopen) their MinorAccount.

    At sign-up the account holds only what reaches the guardian. Found later (their own profile
    edit, or staff), what they consented to alone is withdrawn and their API tokens revoked;
    staff findings also suspend the account and sign out its sessions, so the flow starts at
    their next sign-in. Without a guardian's approval by `decide_by`, the account is erased.
    """
    now = timezone.now()
    by_staff = reason == MinorAccount.Reason.STAFF
    code = jurisdictions.normalize_region(region)
    account, _created = MinorAccount.objects.update_or_create(
        user=user,
        defaults={
            "status": MinorAccount.Status.SUSPENDED
            if by_staff
            else MinorAccount.Status.AWAITING_GUARDIAN,
            "reason": reason,
            "region": code,
            "age_threshold": jurisdictions.age_threshold(code),
            "adult_on": jurisdictions.adult_on(birth_date, code),
            "decide_by": now + setting_days("GUARDIAN_DECISION_DAYS"),
            "created_at": now,
            "approved_at": None,
            "suspended_at": now if by_staff else None,
            "ended_at": None,
            "erasure_request": None,
        },
    )
    if reason != MinorAccount.Reason.SIGNUP:
        consent_withdraw_all_optional(
            user=user, method=Method.GUARDIAN, actor=actor if by_staff else None
        )
        ApiToken.objects.filter(user=user).delete()
    if by_staff:
        for session in UserSession.objects.filter(user=user):
            session.end()
        queue_task(tasks.send_minor_email, account.pk, "flagged")
    audit(
        "minor.guardian_required",
        actor=actor,
        role=role_of(actor, user) if actor is not None else "system",
        minor_id=user.pk,
        reason=reason,
        region=code,
        age_threshold=account.age_threshold,
    )
    return account


# Starting the guardian flow for someone (suspension, then erasure without a guardian) is a
# privacy officer's power: the admin action needs it, and so does a correction that starts it.
OFFICER_PERMISSION = "guardianship.add_minoraccount"
STAFF_ACCOUNT_REFUSED = (
    "This is a staff account, which never becomes a minor's account: the date of birth and "
    "region were not changed. If this person is a minor, a superuser removes their staff role "
    "first."
)
NEEDS_OFFICER_REFUSED = (
    "This date of birth and region make the person a minor: their account would be suspended "
    "until a guardian approves it, and deleted without one. Only a privacy officer can make "
    "this correction; nothing was changed."
)


def minor_correction_refusal(
    user: User, actor: User, birth_date: datetime.date | None, region: object
) -> account_ports.AgeCorrectionRefusal | None:
    """Why `actor` may not correct `user`'s date of birth and region to these, or None.

    Only a correction that would start the guardian flow is checked (a minor already in it
    follows corrections as before): never for a staff or superuser account, and only by a
    privacy officer."""
    if actor.pk == user.pk or not jurisdictions.is_minor(birth_date, region):
        return None
    account = minor_account_for(user)
    if account is not None and account.status != MinorAccount.Status.ENDED:
        return None
    if user.is_staff or user.is_superuser:
        return account_ports.AgeCorrectionRefusal("staff_account", STAFF_ACCOUNT_REFUSED)
    if not actor.has_perm(OFFICER_PERMISSION):
        return account_ports.AgeCorrectionRefusal("needs_officer", NEEDS_OFFICER_REFUSED)
    return None


def minor_status_refresh(*, user: User, actor: User) -> MinorAccount | None:
    """After a change of date of birth or region: enter the flow if the user is now a minor.

    A live minor account follows a later `adult_on` at once. It follows an earlier one only
    when staff corrected the profile: a minor does not leave their guardian's care by editing
    their own date of birth. A staff correction showing that someone waiting for a guardian is
    an adult ends the wait.
    """
    row = Profile.objects.filter(user=user).values_list("birth_date", "region").first()
    if row is None or row[0] is None:
        return None
    birth_date, region = row[0], jurisdictions.normalize_region(row[1])
    account = minor_account_for(user)
    minor_now = jurisdictions.is_minor(birth_date, region)
    by_staff = actor.pk != user.pk and actor.is_staff
    if account is None or account.status == MinorAccount.Status.ENDED:
        if not minor_now:
            return account
        reason = MinorAccount.Reason.STAFF if by_staff else MinorAccount.Reason.PROFILE
        return minor_account_open(
            user=user, birth_date=birth_date, region=region, reason=reason, actor=actor
        )
    adult_on = jurisdictions.adult_on(birth_date, region)
    if adult_on == account.adult_on and region == account.region:
        return account
    if adult_on > account.adult_on or by_staff:
        account.region = region
        account.age_threshold = jurisdictions.age_threshold(region)
        account.adult_on = adult_on
        account.save(update_fields=["region", "age_threshold", "adult_on"])
        audit(
            "minor.age_changed",
            actor=actor,
            role=role_of(actor, user),
            minor_id=user.pk,
            adult_on=adult_on.isoformat(),
        )
    if by_staff and not minor_now and account.status in NEEDS_GUARDIAN:
        _minor_wait_end(account, actor=actor)
    return account


def minor_wait_end_at_majority(
    *, minor_account_id: int, today: datetime.date | None = None
) -> bool:
    """A minor still waiting for a guardian (awaiting, or suspended by staff or a revocation)
    has reached the age of their region: the wait ends and the account is theirs, never erased.

    Guardian approval is refused from that day (`guardian_approve`), so without this the
    erasure sweep would delete an adult's account for want of a guardian. Invitations still
    open expire. The user is told. Claims the row with a conditional update: False when there
    was nothing to do (not waiting, not of age yet, ended by a parallel sweep).
    """
    now = timezone.now()
    with transaction.atomic():
        claimed = MinorAccount.objects.filter(
            pk=minor_account_id,
            status__in=NEEDS_GUARDIAN,
            adult_on__lte=today or timezone.localdate(),
        ).update(status=MinorAccount.Status.ENDED, ended_at=now, decide_by=None)
        if not claimed:
            return False
        user_id = MinorAccount.objects.values_list("user_id", flat=True).get(pk=minor_account_id)
        facts_changed(user_id)  # the consent check no longer treats them as a minor
        Guardianship.objects.filter(minor_id=user_id, status__in=UNDECIDED).update(
            status=Guardianship.Status.EXPIRED, invitation_nonce=new_nonce()
        )
        audit("minor.wait_ended_coming_of_age", actor=None, role="system", minor_id=user_id)
        notify(
            user=User.objects.get(pk=user_id),
            category=Category.ACCOUNT_SECURITY,
            title="Your account is now fully yours",
            body=(
                "You have reached the age at which you decide about your information yourself, "
                "so your account no longer waits for a guardian's approval and will not be "
                "deleted for want of one. Nothing was switched on for you: your consent center "
                "shows every choice that is now yours."
            ),
            link=reverse("consent:center"),
        )
    return True


def _minor_wait_end(account: MinorAccount, *, actor: User) -> None:
    now = timezone.now()
    MinorAccount.objects.filter(pk=account.pk, status__in=NEEDS_GUARDIAN).update(
        status=MinorAccount.Status.ENDED, ended_at=now, decide_by=None
    )
    facts_changed(account.user_id)  # the consent check no longer treats them as a minor
    Guardianship.objects.filter(minor_id=account.user_id, status__in=UNDECIDED).update(
        status=Guardianship.Status.EXPIRED, invitation_nonce=new_nonce()
    )
    audit("minor.adult_by_correction", actor=actor, role="staff", minor_id=account.user_id)


@dataclass(frozen=True)
class FlagResult:
    flagged: bool
    message: str


def minor_flag_by_staff(*, user: User, actor: User) -> FlagResult:
    """Staff found a minor using the service without their guardian's consent (the policy's
    "Protection of Minors"): suspend the account and start the guardian flow."""
    profile = Profile.objects.filter(user=user).first()
    birth_date = profile.birth_date if profile else None
    region = profile.region if profile else ""
    if not jurisdictions.is_minor(birth_date, region):
        return FlagResult(
            False,
            "the date of birth on file does not show a minor: correct it in the profile first "
            "(the correction starts the guardian flow by itself)",
        )
    account = minor_account_for(user)
    if account is not None and account.status != MinorAccount.Status.ENDED:
        return FlagResult(False, f"already {account.get_status_display().lower()}")
    if user.is_staff or user.is_superuser:
        audit("minor.flag_refused", actor=actor, role="staff", minor_id=user.pk, reason="staff")
        return FlagResult(False, "a staff account never becomes a minor's account")
    assert birth_date is not None  # is_minor() is False without one
    minor_account_open(
        user=user,
        birth_date=birth_date,
        region=str(region),
        reason=MinorAccount.Reason.STAFF,
        actor=actor,
    )
    return FlagResult(True, "suspended until a guardian approves")
