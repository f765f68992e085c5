"""Shared pieces of the guardian consent flow: constants, links refused, audit and mail helpers,
and reads of where a minor stands.
"""

from __future__ import annotations

import datetime
import secrets
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import User
from core.audit import audit_append
from core.models import AuditLogEntry
from guardianship.models import Guardianship, MinorAccount

GUARDIAN_ROLE = "guardian"  # the audit log's name for a guardian acting
INVITATION_SALT = "accounts.guardianship.invitation"
APPROVAL_SALT = "accounts.guardianship.approval"
PROVIDER_SALT = "accounts.guardianship.provider"
# A minor may send (or re-send) at most this many invitations a day, and not twice a minute:
# each one e-mails a third party.
INVITATIONS_PER_DAY = 5
RESEND_INTERVAL = datetime.timedelta(minutes=1)
SWEEP_BATCH = 500
DOCUMENT_FOLDER = "guardian-documents"

NEEDS_GUARDIAN = (MinorAccount.Status.AWAITING_GUARDIAN, MinorAccount.Status.SUSPENDED)
WAITING = (*NEEDS_GUARDIAN, MinorAccount.Status.ERASING)
UNDECIDED = (
    Guardianship.Status.INVITED,
    Guardianship.Status.CONFIRMING,
    Guardianship.Status.IN_REVIEW,
)


class ErasureReason:
    DECLINED = "declined"
    EXPIRED = "expired"


class LinkRefused(Exception):
    """A guardian's link that cannot be used: `kind` is "invalid", "expired" or "used"."""

    def __init__(self, kind: str, guardianship: Guardianship | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.guardianship = guardianship


def new_nonce() -> str:
    return secrets.token_urlsafe(32)  # 43 characters


def setting_days(name: str) -> datetime.timedelta:
    return datetime.timedelta(days=int(getattr(settings, name)))


def audit(action: str, *, actor: User | None, role: str, minor_id: int, **data: Any) -> None:
    audit_append(
        action=action,
        actor_user_id=actor.pk if actor is not None else None,
        actor_role=role,
        target_type="accounts.user",
        target_id=minor_id,
        data=data,
    )


def role_of(actor: User | None, user: User) -> str:
    if actor is None:
        return "system"
    if actor.pk == user.pk:
        return "requester"
    return "staff" if actor.is_staff else GUARDIAN_ROLE


def queue_task(task: Any, *args: Any) -> None:
    """Queue one of guardianship.tasks once the transaction commits."""
    transaction.on_commit(partial(task.delay, *args))


def minor_account_for(user: User) -> MinorAccount | None:
    return MinorAccount.objects.filter(user=user).first()


def waiting_status(user_id: int) -> str | None:
    """The status of a minor account that keeps the user on the waiting page, or None."""
    return (
        MinorAccount.objects.filter(user_id=user_id, status__in=WAITING)
        .values_list("status", flat=True)
        .first()
    )


def live_guardianship(minor: User) -> Guardianship | None:
    return (
        Guardianship.objects.filter(minor=minor, status__in=Guardianship.LIVE_STATUSES)
        .select_related("guardian")
        .first()
    )


def extend_decision(minor_id: int, until: datetime.datetime) -> None:
    """Give the guardian time to finish a verification they started."""
    account = MinorAccount.objects.filter(user_id=minor_id, status__in=NEEDS_GUARDIAN).first()
    if account is not None and (account.decide_by is None or account.decide_by < until):
        MinorAccount.objects.filter(pk=account.pk).update(decide_by=until)


def bound_guardianship(guardianship: Guardianship, guardian: User) -> Guardianship:
    locked = (
        Guardianship.objects.select_for_update().select_related("minor").get(pk=guardianship.pk)
    )
    if locked.guardian_id != guardian.pk or locked.status not in UNDECIDED:
        raise LinkRefused("used", locked)
    return locked


def masked_email(address: str) -> str:
    """ "a•••@example.org": enough for a guardian to recognise, not to copy."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


SECOND_CONFIRMATION_SENT = "guardian.second_confirmation_sent"


def second_confirmation_sent(guardianship_id: int) -> bool:
    """Whether email_plus's second confirmation went out (its audit entry is the marker)."""
    return AuditLogEntry.objects.filter(
        action=SECOND_CONFIRMATION_SENT,
        target_type="accounts.guardianship",
        target_id=str(guardianship_id),
    ).exists()
