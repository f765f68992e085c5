"""What the requests app holds about a user: their requests, messages and applied corrections."""

from __future__ import annotations

from django.db.models import QuerySet

from .registry import Retention, Strategy, fixed, null, register


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
