"""The e-mails of the flow (the bodies of the Celery tasks in guardianship.tasks)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from core import mail
from guardianship.flow.common import NEEDS_GUARDIAN, masked_email, minor_account_for
from guardianship.flow.invitation import invitation_token
from guardianship.models import Guardianship, MinorAccount


def guardian_email_send(*, guardianship_id: int, kind: str) -> None:
    """The e-mails to a guardian (the task's body): the invitation, document review results."""
    guardianship = (
        Guardianship.objects.select_related("minor", "guardian").filter(pk=guardianship_id).first()
    )
    if guardianship is None:
        return
    if kind == "invitation":
        if (
            guardianship.status != Guardianship.Status.INVITED
            or guardianship.accepted_at is not None
            or guardianship.expires_at <= timezone.now()
        ):
            return
        account = minor_account_for(guardianship.minor)
        mail.send(
            "accounts/guardian_invitation/email/invitation",
            {
                "link": settings.PORTAL_URL
                + reverse("guardian_invitation:open", args=[invitation_token(guardianship)]),
                "minor": masked_email(guardianship.minor.email),
                "age": account.age_threshold if account else settings.POLICY_ADULT_AGE,
                "expires_at": guardianship.expires_at,
                "decide_by": account.decide_by if account else None,
            },
            guardianship.guardian_email,
        )
    elif kind in ("document_accepted", "document_rejected") and guardianship.guardian:
        mail.send(
            f"accounts/guardian_invitation/email/{kind}",
            {
                "link": settings.PORTAL_URL
                + reverse("guardian_invitation:status", args=[guardianship.pk])
            },
            guardianship.guardian.email,
        )


def minor_email_send(*, minor_account_id: int, kind: str) -> None:
    """E-mails to the minor before they can use their inbox: "flagged" by staff."""
    account = (
        MinorAccount.objects.select_related("user")
        .filter(pk=minor_account_id, status__in=NEEDS_GUARDIAN)
        .first()
    )
    if account is None or kind != "flagged":
        return
    mail.send(
        "accounts/minor/email/flagged",
        {
            "decide_by": account.decide_by,
            "sign_in": settings.PORTAL_URL + reverse("account_login"),
        },
        account.user.email,
    )
