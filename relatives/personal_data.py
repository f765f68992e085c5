"""What the relatives app holds: the cases close relatives file for a deceased user and their
proof documents, for export and erasure (the registry) and how long they are kept."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from core.registry import Retention, Strategy, fixed, register
from core.retention import Action, Target, register_rule
from requests_dsar.personal_data import CLOSED_STATUSES

from . import services
from .models import RelativeCase, RelativeDocument

register(
    "relatives.RelativeCase",
    category="relatives",
    label="Requests by close relatives after death",
    user_path="deceased",
    # The relative's own name and address are theirs, not the account's: never exported to
    # another relative, and kept as the record of who acted.
    fields={
        "created_at": "Case opened",
        "relationship": "Relationship stated",
        "asked": "Asked for",
        "outcome": "Outcome",
        "decided_at": "Decided",
    },
    strategy=Strategy.ANONYMIZE,
    anonymize={"deceased_email": fixed("")},
    order=870,
)
register(
    "relatives.RelativeDocument",
    category="relatives",
    label="Requests by close relatives after death",
    user_path="case__deceased",
    fields={"kind": "Proof document", "uploaded_at": "Uploaded", "deleted_at": "Deleted"},
    strategy=Strategy.RETAIN,
    retention=Retention(
        legal_basis="Proof of a close relative's authority to act for a deceased user: kept "
        "for the set period after the case closes, then deleted automatically",
        period=None,
    ),
    order=860,
)


# --- Retention (core.retention) -----------------------------------------------------------------


def _relative_documents(cutoff: datetime.datetime) -> QuerySet:
    return RelativeDocument.objects.filter(
        deleted_at__isnull=True,
        case__request__status__in=CLOSED_STATUSES,
        case__request__status_changed_at__lt=cutoff,
    )


def _delete_relative_document_files(documents: QuerySet) -> None:
    services.documents_delete_files(documents)


def _mark_relative_documents_deleted(documents: QuerySet) -> int:
    return services.documents_mark_deleted(documents)


def _unverified_relative_cases(cutoff: datetime.datetime) -> QuerySet:
    return RelativeCase.objects.filter(verified_at__isnull=True, created_at__lt=cutoff).filter(
        Q(code_expires_at__isnull=True) | Q(code_expires_at__lt=cutoff)
    )


def _delete_unverified_case_files(cases: QuerySet) -> None:
    services.documents_delete_files(RelativeDocument.objects.filter(case__in=cases.values("pk")))


register_rule(
    "relative_documents",
    label="Relatives' proof documents",
    removes="The files of death certificates and proofs of relationship sent by close "
    "relatives, this long after their case closed (settings."
    "DSAR_RELATIVE_DOCUMENTS_RETENTION_DAYS); each document is marked deleted.",
    default_days=30,
    targets=[
        Target(
            "relatives.RelativeDocument",
            Action.ANONYMIZE,
            _relative_documents,
            held_by_user=("case__deceased_id",),
            held_by_request=("case__request_id",),
            before_remove=_delete_relative_document_files,
            remove=_mark_relative_documents_deleted,
            batch_size=200,
        )
    ],
    keeps="The case (who asked, for what, the decision) and its request's history.",
    order=80,
)
register_rule(
    "unverified_relative_cases",
    label="Unconfirmed relatives' cases",
    removes="Cases filed by someone who never confirmed their e-mail address, entirely (with "
    "their documents), this long after their last code expired.",
    default_days=1,
    targets=[
        Target(
            "relatives.RelativeCase",
            Action.DELETE,
            _unverified_relative_cases,
            held_by_user=("deceased_id",),
            before_remove=_delete_unverified_case_files,
            batch_size=200,
        )
    ],
    order=81,
)
