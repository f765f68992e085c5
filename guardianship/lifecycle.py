"""How a guardianship in force ends: the guardian revokes their approval, or the minor comes of age.

Revocation: the guardianship is revoked, the consents given for the minor are withdrawn, and
the minor's account is suspended with `decide_by` set after the cool-off
(GUARDIAN_REVOCATION_COOL_OFF_DAYS); without a new guardian's approval by then, the guardian
flow's sweep erases it. Coming of age: the daily sweep ends the guardianship of every minor whose
`adult_on` has arrived; the user decides alone from then on. Both tell the minor and the guardian.
A minor who comes of age while still waiting for a guardian (or suspended) is not erased: the
wait ends and they are told.

Each claims its row with a conditional update, so a second click or a redelivered task is a no-op.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from consent import services as consent_services
from consent.models import ConsentActor, Method
from consent.selectors import facts_changed
from core.audit import audit_append
from guardianship.flow import NEEDS_GUARDIAN, minor_wait_end_at_majority
from guardianship.models import Guardianship, MinorAccount
from guardianship.services import GUARDIAN_ROLE
from notices.models import Category
from notices.services import notify

logger = logging.getLogger(__name__)


class GuardianshipNotInForce(ValidationError):
    """The guardianship was already revoked or ended (a second click, a race)."""


def _dashboard_link() -> str:
    return reverse("dashboard:home")


@dataclass(frozen=True)
class Revocation:
    guardianship: Guardianship
    erase_after: datetime.datetime


@transaction.atomic
def guardianship_revoke(*, guardianship: Guardianship, actor: User) -> Revocation:
    """The guardian withdraws their approval for the minor.

    The consents they gave for the minor are withdrawn (actor guardian, method guardian) while
    their approval still stands, then the guardianship is revoked and the minor's account
    suspended until `decide_by`, after which it is erased unless a guardian approves it again.
    Raises GuardianshipNotInForce when the guardianship is not approved any more or `actor`
    is not its guardian.
    """
    locked = (
        Guardianship.objects.select_for_update(of=("self",))
        .filter(pk=guardianship.pk, guardian=actor, status=Guardianship.Status.APPROVED)
        .select_related("minor", "guardian")
        .first()
    )
    if locked is None:
        raise GuardianshipNotInForce("This approval was already revoked or has ended.")
    minor = locked.minor
    consent_services.consent_withdraw_all_optional(
        user=minor, method=Method.GUARDIAN, actor=actor, role=ConsentActor.GUARDIAN
    )
    now = timezone.now()
    erase_after = now + datetime.timedelta(days=settings.GUARDIAN_REVOCATION_COOL_OFF_DAYS)
    Guardianship.objects.filter(pk=locked.pk).update(
        status=Guardianship.Status.REVOKED, revoked_at=now
    )
    locked.status, locked.revoked_at = Guardianship.Status.REVOKED, now
    MinorAccount.objects.filter(user=minor, status=MinorAccount.Status.ACTIVE).update(
        status=MinorAccount.Status.SUSPENDED, suspended_at=now, decide_by=erase_after
    )
    audit_append(
        action="guardian.revoked",
        actor_user_id=actor.pk,
        actor_role=GUARDIAN_ROLE,
        target_type="accounts.user",
        target_id=minor.pk,
        data={"guardianship": locked.pk, "erase_after": erase_after.isoformat()},
    )
    day = date_format(timezone.localtime(erase_after), "j F Y")
    notify(
        user=minor,
        category=Category.ACCOUNT_SECURITY,
        title="Your guardian withdrew their approval",
        body=(
            "Your guardian has withdrawn their approval of your account. Your account is "
            "suspended, and the consents given for you are withdrawn. Unless a guardian "
            f"approves your account again, it and your information will be deleted after {day}."
        ),
        link=_dashboard_link(),
    )
    notify(
        user=actor,
        category=Category.ACCOUNT_SECURITY,
        title="You withdrew your approval of a minor's account",
        body=(
            "You withdrew your approval of the account of a minor in your care. Their account "
            "is suspended, the consents you gave for them are withdrawn, and their account "
            f"and information will be deleted after {day} unless a guardian approves it again."
        ),
        link=_dashboard_link(),
    )
    return Revocation(guardianship=locked, erase_after=erase_after)


def _end_for_coming_of_age(minor_account_id: int) -> bool:
    """End one minor's guardianship because they reached the age. False if nothing to do."""
    today = timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        claimed = MinorAccount.objects.filter(
            pk=minor_account_id, status=MinorAccount.Status.ACTIVE, adult_on__lte=today
        ).update(status=MinorAccount.Status.ENDED, ended_at=now)
        if not claimed:
            return False
        account = MinorAccount.objects.select_related("user").get(pk=minor_account_id)
        facts_changed(account.user_id)  # the consent check no longer treats them as a minor
        ending = list(
            # Only the guardianship rows: a nullable guardian cannot be locked in an outer join.
            Guardianship.objects.select_for_update(of=("self",))
            .filter(minor=account.user, status=Guardianship.Status.APPROVED)
            .select_related("guardian")
        )
        Guardianship.objects.filter(pk__in=[g.pk for g in ending]).update(
            status=Guardianship.Status.ENDED, ended_at=now
        )
        audit_append(
            action="guardian.ended_coming_of_age",
            actor_user_id=None,
            target_type="accounts.user",
            target_id=account.user_id,
            data={"guardianships": [g.pk for g in ending]},
        )
        notify(
            user=account.user,
            category=Category.ACCOUNT_SECURITY,
            title="Your account is now fully yours",
            body=(
                "You have reached the age at which you decide about your information yourself. "
                "Your guardian no longer has access to your account. The consents given for you "
                "stay as they are until you change them; nothing new is switched on: your "
                "consent center shows every choice that is now yours."
            ),
            link=reverse("consent:center"),
        )
        for guardian in _guardians(ending):
            notify(
                user=guardian,
                category=Category.ACCOUNT_SECURITY,
                title="A guardianship has ended",
                body=(
                    "A minor in your care has reached the age at which they decide about their "
                    "information themselves. Your guardianship has ended: you no longer see "
                    "their data or act for them."
                ),
                link=_dashboard_link(),
            )
    return True


def _guardians(guardianships: Iterable[Guardianship]) -> list[User]:
    return [g.guardian for g in guardianships if g.guardian is not None]


def guardianships_end_due() -> int:
    """The daily sweep: end the guardianship of every minor whose `adult_on` has arrived.

    A minor of age who was still waiting for a guardian (awaiting, or suspended by staff or by
    a revocation) is not left for the erasure sweep: their wait ends and the account is theirs
    (`minor_wait_end_at_majority`). Idempotent: a minor already ended is skipped, so a second
    run (or a redelivered task) does nothing. Returns how many accounts ended now.
    """
    today = timezone.localdate()
    due = MinorAccount.objects.filter(
        status=MinorAccount.Status.ACTIVE, adult_on__lte=today
    ).values_list("pk", flat=True)
    ended = sum(_end_for_coming_of_age(pk) for pk in list(due))
    waiting = MinorAccount.objects.filter(status__in=NEEDS_GUARDIAN, adult_on__lte=today)
    waits_ended = sum(
        minor_wait_end_at_majority(minor_account_id=pk, today=today)
        for pk in list(waiting.values_list("pk", flat=True))
    )
    if ended or waits_ended:
        logger.info(
            "minor accounts ended at majority: %d guardianships, %d waits", ended, waits_ended
        )
    return ended + waits_ended
