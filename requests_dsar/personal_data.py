"""What the requests app holds about a user: their requests, messages and applied corrections."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Exists, Q, QuerySet

from accounts.signups import register_account_in_use
from core.registry import Strategy, fixed, register
from core.retention import Action, Target, register_rule

from . import export
from .models import (
    AppliedCorrection,
    DataSubjectRequest,
    ExportArchive,
    RequestMessage,
    Status,
    VerificationCode,
)

CLOSED_STATUSES = (Status.COMPLETED, Status.DENIED, Status.CANCELLED)


def _delete_archive_files(archives: QuerySet) -> None:
    for archive in archives:
        export.archive_delete_file(archive)


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
    "requests_dsar.RequestNote",
    category="request_notes",
    label="Our team's notes on your requests",
    user_path="request__subject",
    # Internal notes are not handed out with the person's data (they are the team's working
    # notes); they go with the request they belong to.
    fields={},
    strategy=Strategy.DELETE,
    order=880,
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
# --- Retention (core.retention): requests' evidence and archives --------------------------------


def _finished_archives(cutoff: datetime.datetime) -> QuerySet[Any]:
    return ExportArchive.objects.filter(expires_at__lt=cutoff)


def _delete_expired_archive_files(archives: QuerySet[Any]) -> None:
    # Normally done at expiry by the request sweep; a backlog there must not leave files behind.
    for archive in archives.filter(deleted_at__isnull=True):
        export.archive_delete_file(archive, reason="retention")


def _of_requests_closed_before(model: Any, cutoff: datetime.datetime) -> QuerySet[Any]:
    # A closed status is final, so the time of the last change is the time of closing.
    return model.objects.filter(
        request__status__in=CLOSED_STATUSES, request__status_changed_at__lt=cutoff
    )


def _verification_codes(cutoff: datetime.datetime) -> QuerySet[Any]:
    return _of_requests_closed_before(VerificationCode, cutoff)


def _message_texts(cutoff: datetime.datetime) -> QuerySet[Any]:
    return _of_requests_closed_before(RequestMessage, cutoff).exclude(body="")


# Scope keys holding the requester's values: a correction's requested new values and free-text
# proposals. The rest of the scope (categories, the fields staff reviewed, who approved) names
# no value and stays with the request row.
_SCOPE_KEYS_WITH_VALUES = ("changes",)


def _request_texts(cutoff: datetime.datetime) -> QuerySet[Any]:
    """Closed requests still holding the requester's free text, the changes they asked for or
    a signed-out requester's address (the request row itself stays: it is the record that
    the request was handled)."""
    holds_values = Q()
    for key in _SCOPE_KEYS_WITH_VALUES:
        holds_values |= Q(scope__has_key=key)
    return DataSubjectRequest.objects.filter(
        status__in=CLOSED_STATUSES, status_changed_at__lt=cutoff
    ).filter(~Q(details="") | ~Q(contact_email="") | holds_values)


def _clear_request_texts(batch: QuerySet[Any]) -> int:
    # Only the keys with values leave the scope (a JSON key cannot be dropped by one portable
    # UPDATE); the rows are locked first, as the statement that clears the text would.
    rows = list(batch.select_for_update().values_list("pk", "scope"))
    for pk, scope in rows:
        if isinstance(scope, dict) and any(key in scope for key in _SCOPE_KEYS_WITH_VALUES):
            kept = {k: v for k, v in scope.items() if k not in _SCOPE_KEYS_WITH_VALUES}
            DataSubjectRequest.objects.filter(pk=pk).update(scope=kept)
    batch.update(details="", contact_email="")
    return len(rows)


def _correction_values(cutoff: datetime.datetime) -> QuerySet[Any]:
    return _of_requests_closed_before(AppliedCorrection, cutoff).exclude(before="", after="")


# A request's evidence is kept by a hold on the request, its subject or whoever filed it.
REQUEST = ("request_id",)
REQUEST_PEOPLE = ("request__subject_id", "request__requester_id")

# An account a request is about, or that filed one, is more than a stray sign-up.
register_account_in_use(
    lambda user: Exists(DataSubjectRequest.objects.filter(Q(subject=user) | Q(requester=user)))
)

register_rule(
    "export_archives",
    label="Finished export archives",
    removes="Export archive records (and any file still stored) this long after their link "
    "expired.",
    default_days=7,
    targets=[
        Target(
            "requests_dsar.ExportArchive",
            Action.DELETE,
            _finished_archives,
            before_remove=_delete_expired_archive_files,
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        )
    ],
    keeps="The request and its history.",
    order=30,
)
register_rule(
    "closed_request_evidence",
    label="Closed requests' evidence",
    removes="Of requests closed longer than the period: verification codes, the text of "
    "request messages, the before and after values of applied corrections, the request's "
    "details, the changes a correction or supplement asked for and the contact address of a "
    "requester who was not signed in.",
    default_days=180,
    targets=[
        Target(
            "requests_dsar.DataSubjectRequest",
            Action.ANONYMIZE,
            _request_texts,
            anonymize={"details": "", "contact_email": ""},
            remove=_clear_request_texts,
            held_by_user=("subject_id", "requester_id"),
            held_by_request=("pk",),
        ),
        Target(
            "requests_dsar.VerificationCode",
            Action.DELETE,
            _verification_codes,
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        ),
        Target(
            "requests_dsar.RequestMessage",
            Action.ANONYMIZE,
            _message_texts,
            anonymize={"body": ""},
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        ),
        Target(
            "requests_dsar.AppliedCorrection",
            Action.ANONYMIZE,
            _correction_values,
            anonymize={"before": "", "after": ""},
            held_by_user=REQUEST_PEOPLE,
            held_by_request=REQUEST,
        ),
    ],
    keeps="The request row (its type, dates and status), its status history, the "
    "de-identified erasure record and the audit log.",
    order=40,
)
