"""What the requests app holds about a user: their requests, messages and applied corrections."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from core.registry import Retention, Strategy, fixed, null, register

from .retention import CLOSED_STATUSES, Action, Target, register_rule


def _delete_archive_files(archives: QuerySet) -> None:
    from .export import archive_delete_file

    for archive in archives:
        archive_delete_file(archive)


register(
    "requests_dsar.DataSubjectRequest",
    category="requests",
    label="Your requests",
    user_path="subject",
    fields={
        "public_id": "Reference",
        "type": "Type",
        "status": "Status",
        "received_at": "Received",
        "verified_at": "Identity verified",
        "due_at": "Due",
        "completed_at": "Completed",
        "details": "Details",
        "scope": "Scope",
    },
    strategy=Strategy.ANONYMIZE,
    # Requests stay as de-identified proof (subject_hash); their free text goes.
    anonymize={
        "details": fixed(""),
        "contact_email": fixed(""),
        "scope": fixed({}),
        # Staff notes may name the person too.
        "extension_reason": fixed(""),
        "denial_note": fixed(""),
    },
    order=900,
)
register(
    "requests_dsar.RequestEvent",
    category="requests",
    label="Your requests",
    user_path="request__subject",
    fields={"at": "When", "from_status": "From", "to_status": "To", "reason": "Reason"},
    strategy=Strategy.ANONYMIZE,
    anonymize={"reason": fixed("")},
    order=890,
)
register(
    "requests_dsar.RequestMessage",
    category="request_messages",
    label="Messages about your requests",
    user_path="request__subject",
    fields={"created_at": "When", "from_staff": "From our team", "body": "Message"},
    strategy=Strategy.ANONYMIZE,
    anonymize={"body": fixed("")},
    order=890,
)
register(
    "requests_dsar.AppliedCorrection",
    category="corrections",
    label="Corrections applied",
    user_path="request__subject",
    fields={"field": "Field", "before": "Before", "after": "After", "applied_at": "Applied"},
    strategy=Strategy.ANONYMIZE,
    anonymize={"before": fixed(""), "after": fixed("")},
    order=890,
)
register(
    "requests_dsar.VerificationCode",
    category="requests",
    label="Your requests",
    user_path="request__subject",
    fields={"expires_at": "Verification code expires"},
    strategy=Strategy.DELETE,
    order=880,
)
register(
    "requests_dsar.ExportArchive",
    category="requests",
    label="Your requests",
    user_path="request__subject",
    fields={"created_at": "Archive created", "expires_at": "Archive expires", "size": "Size"},
    strategy=Strategy.DELETE,
    before_erase=_delete_archive_files,
    order=880,
)
register(
    "requests_dsar.LegalHold",
    category="legal_holds",
    label="Legal holds on your data",
    user_path="user",
    fields={"created_at": "Hold placed", "expires_at": "Hold ends", "released_at": "Released"},
    strategy=Strategy.RETAIN,
    retention=Retention(
        legal_basis="Establishment, exercise or defence of legal claims, while the hold lasts",
        period=None,
    ),
)
register(
    "requests_dsar.RetentionOverride",
    category="staff_actions",
    label="Actions taken as staff",
    user_path="set_by",
    fields={"category": "Retention period changed", "updated_at": "When"},
    strategy=Strategy.ANONYMIZE,
    anonymize={"set_by": null()},
)
register(
    "requests_dsar.RelativeCase",
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
    "requests_dsar.RelativeDocument",
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


# --- Relatives' cases: retention (requests_dsar/retention.py) ------------------------------------


def _relative_documents(cutoff: datetime.datetime) -> QuerySet:
    from .models import RelativeDocument

    return RelativeDocument.objects.filter(
        deleted_at__isnull=True,
        case__request__status__in=CLOSED_STATUSES,
        case__request__status_changed_at__lt=cutoff,
    )


def _delete_relative_document_files(documents: QuerySet) -> None:
    from .relatives import documents_delete_files

    documents_delete_files(documents)


def _mark_relative_documents_deleted(documents: QuerySet) -> int:
    from .relatives import documents_mark_deleted

    return documents_mark_deleted(documents)


def _unverified_relative_cases(cutoff: datetime.datetime) -> QuerySet:
    from .models import RelativeCase

    return RelativeCase.objects.filter(verified_at__isnull=True, created_at__lt=cutoff).filter(
        Q(code_expires_at__isnull=True) | Q(code_expires_at__lt=cutoff)
    )


def _delete_unverified_case_files(cases: QuerySet) -> None:
    from .models import RelativeDocument
    from .relatives import documents_delete_files

    documents_delete_files(RelativeDocument.objects.filter(case__in=cases.values("pk")))


register_rule(
    "relative_documents",
    label="Relatives' proof documents",
    removes="The files of death certificates and proofs of relationship sent by close "
    "relatives, this long after their case closed (settings."
    "DSAR_RELATIVE_DOCUMENTS_RETENTION_DAYS); each document is marked deleted.",
    default_days=30,
    targets=[
        Target(
            "requests_dsar.RelativeDocument",
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
            "requests_dsar.RelativeCase",
            Action.DELETE,
            _unverified_relative_cases,
            held_by_user=("deceased_id",),
            before_remove=_delete_unverified_case_files,
            batch_size=200,
        )
    ],
    order=81,
)
