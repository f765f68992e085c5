"""What the guardian consent flow holds about a user (a minor or their guardian), for export and
erasure (the registry) and how long it is kept (the retention table)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, Q, QuerySet

from accounts.signups import register_account_in_use
from core.registry import Strategy, register
from core.retention import Action, Target, register_rule
from core.uploads import delete_stored

from .models import GuardianDocument, Guardianship


def _guardianships(user: Any) -> QuerySet:
    return Guardianship.objects.filter(Q(minor=user) | Q(guardian=user))


def _guardian_documents(user: Any) -> QuerySet:
    return GuardianDocument.objects.filter(
        Q(guardianship__minor=user) | Q(guardianship__guardian=user)
    )


def _delete_document_files(documents: QuerySet) -> None:
    for document in documents:
        delete_stored(document.storage_name)


register(
    "guardianship.MinorAccount",
    category="guardianship",
    label="Guardian consent",
    user_path="user",
    fields={
        "status": "Status",
        "reason": "Why a guardian was needed",
        "region": "Region",
        "age_threshold": "Age of consent there",
        "adult_on": "Full control from",
        "approved_at": "Approved",
        "ended_at": "Ended",
    },
    strategy=Strategy.DELETE,
    order=60,
)
register(
    "guardianship.GuardianDocument",
    category="guardianship",
    label="Guardian consent",
    user_path="guardianship__minor",
    rows=_guardian_documents,
    fields={"uploaded_at": "Document uploaded", "reviewed_at": "Reviewed", "accepted": "Accepted"},
    strategy=Strategy.DELETE,
    before_erase=_delete_document_files,
    order=55,
)
register(
    "guardianship.Guardianship",
    category="guardianship",
    label="Guardian consent",
    # Both sides: the minor's guardianship and the guardian's own (as the guardian).
    user_path="minor",
    rows=_guardianships,
    fields={
        "guardian_email": "Guardian's e-mail",
        "status": "Status",
        "verification_method": "How the guardian was verified",
        "invited_at": "Invited",
        "approved_at": "Approved",
        "revoked_at": "Revoked",
        "ended_at": "Ended",
    },
    strategy=Strategy.DELETE,
    order=58,
)


# --- Retention (core.retention) -----------------------------------------------------------------


def _ended_guardianships(cutoff: datetime.datetime) -> QuerySet[Any]:
    return Guardianship.objects.filter(
        Q(status="declined", declined_at__lt=cutoff)
        | Q(status="revoked", revoked_at__lt=cutoff)
        | Q(status="ended", ended_at__lt=cutoff)
        | Q(status="expired", expires_at__lt=cutoff)
    )


def _delete_guardian_document_files(guardianships: QuerySet[Any]) -> None:
    documents = GuardianDocument.objects.filter(
        guardianship__in=guardianships.values("pk"), deleted_at__isnull=True
    )
    for document in documents:
        delete_stored(document.storage_name)


# A guardian's account is more than a stray sign-up.
register_account_in_use(lambda user: Exists(Guardianship.objects.filter(guardian=user)))

register_rule(
    "declined_minors",
    label="Declined, expired or ended guardian invitations",
    removes="Guardian invitations (with the guardian's e-mail address and any document) "
    "declined, revoked, expired or ended longer ago than the period.",
    default_days=30,
    targets=[
        Target(
            "guardianship.Guardianship",
            Action.DELETE,
            _ended_guardianships,
            held_by_user=("minor_id", "guardian_id"),
            before_remove=_delete_guardian_document_files,
            batch_size=500,
        )
    ],
    order=60,
)
