"""Erasure of a minor's account no guardian approved, through the requests engine, and the
periodic sweep.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import staff_addresses_with
from core import mail
from core.audit import audit_append
from core.models import AuditLogEntry
from guardianship import tasks
from guardianship.flow.common import (
    NEEDS_GUARDIAN,
    SWEEP_BATCH,
    UNDECIDED,
    ErasureReason,
    audit,
    new_nonce,
    queue_task,
)
from guardianship.flow.entry import minor_wait_end_at_majority
from guardianship.flow.steps import guardian_second_confirmation_send
from guardianship.models import GuardianDocument, Guardianship, MinorAccount
from requests_dsar import erasure
from requests_dsar import services as dsar
from requests_dsar.models import RequestType
from requests_dsar.tasks import process_request


@transaction.atomic
def minor_erasure_start(*, minor_account_id: int, reason: str) -> Any:
    """Erase a minor's account no guardian approved (declined, or nothing by `decide_by`).

    A `delete` request with actor system is recorded and verified by the system, without the
    cool-off a user's own deletion has (the decision period was it). The minor is told by
    e-mail first (`minor_erasure_notify`), which then queues the work; if that task is lost,
    the requests sweep queues it anyway. Returns the request, or None if there was nothing to
    start (already erasing, approved meanwhile).
    """
    account = (
        MinorAccount.objects.select_for_update()
        .select_related("user")
        .filter(pk=minor_account_id)
        .first()
    )
    if account is None or account.status not in NEEDS_GUARDIAN:
        return None
    if account.adult_on <= timezone.localdate():
        # Of age now: nobody needs to approve them any more, and nothing is erased.
        minor_wait_end_at_majority(minor_account_id=account.pk)
        return None
    Guardianship.objects.filter(minor_id=account.user_id, status__in=UNDECIDED).update(
        status=Guardianship.Status.EXPIRED, invitation_nonce=new_nonce()
    )
    # No cool-off (the decision period was it); queued once the minor is told, in the
    # guardian flow's own words.
    request = dsar.dsar_file_for_system(
        subject=account.user,
        type=RequestType.DELETE,
        reason=(
            "No guardian approved this minor's account (privacy policy, Protection of "
            "Minors): the system erases it."
        ),
        cool_off=False,
        queue=False,
        notify=False,
    )
    account.status = MinorAccount.Status.ERASING
    account.erasure_request = request
    account.save(update_fields=["status", "erasure_request"])
    audit(
        "minor.erasure_started",
        actor=None,
        role="system",
        minor_id=account.user_id,
        reason=reason,
        request=request.pk,
    )
    queue_task(tasks.notify_minor_erasure, account.pk, reason)
    return request


def minor_erasure_notify(*, minor_account_id: int, reason: str) -> None:
    """Tell the minor why their account is erased, before it is (this e-mail stands in for the
    engine's own confirmation), then queue the erasure."""
    account = (
        MinorAccount.objects.select_related("user", "erasure_request")
        .filter(pk=minor_account_id, status=MinorAccount.Status.ERASING)
        .first()
    )
    if account is None or account.erasure_request is None:
        return
    request = account.erasure_request
    if not erasure.confirmation_sent(request) and mail.is_deliverable(account.user.email):
        mail.send(
            "accounts/minor/email/erasure",
            {
                "declined": reason == ErasureReason.DECLINED,
                "reference": request.reference,
                "retained": erasure.retained_summary(request),
            },
            account.user.email,
        )
        erasure.mark_confirmation_sent(request)
    process_request.delay(request.pk)


@dataclass(frozen=True)
class SweepResult:
    erasures_started: int
    second_confirmations_sent: int
    overdue_reviews_reported: int = 0


REVIEW_OVERDUE = "guardian.document_review_overdue"


def _document_reviewers() -> list[str]:
    """The addresses of active staff who may review guardians' documents."""
    return staff_addresses_with("guardianship", "change_guardiandocument")


def guardian_document_reviews_overdue(*, now: datetime.datetime) -> int:
    """Tell the reviewers, once per document, of a guardian's document still unreviewed when
    the minor's decision date has passed.

    The sweep keeps such a minor (the wait is ours, not the guardian's), so without a review
    the account would wait for ever. Sent first, marked after (an audit entry per document,
    ids only): a failed e-mail is tried again by the next sweep. Returns how many documents
    were reported.
    """
    # Already reported documents are left out before the batch is cut: otherwise a batch's
    # worth of reported, still unreviewed documents would hide every newer one for ever.
    already_reported = AuditLogEntry.objects.filter(
        action=REVIEW_OVERDUE,
        target_type="accounts.guardiandocument",
        target_id=Cast(OuterRef("pk"), CharField()),
    )
    due = list(
        GuardianDocument.objects.filter(
            reviewed_at__isnull=True,
            guardianship__status=Guardianship.Status.IN_REVIEW,
            guardianship__minor__minor_account__status__in=NEEDS_GUARDIAN,
            guardianship__minor__minor_account__decide_by__lte=now,
        )
        .exclude(Exists(already_reported))
        .order_by("uploaded_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    reviewers = _document_reviewers()
    if not due or not reviewers:
        return 0
    review_list = settings.PORTAL_URL + reverse("admin:guardianship_guardiandocument_changelist")
    count = len(due)
    mail.send(
        "accounts/minor/email/documents_overdue",
        {"count": count, "due": due, "review_list": review_list},
        reviewers,
    )
    for pk in due:
        audit_append(
            action=REVIEW_OVERDUE,
            actor_user_id=None,
            actor_role="system",
            target_type="accounts.guardiandocument",
            target_id=pk,
        )
    return count


def minor_accounts_sweep(*, now: datetime.datetime | None = None) -> SweepResult:
    """Periodic: erase accounts no guardian approved by `decide_by` (awaiting or suspended,
    whatever suspended them), and send second confirmations whose delay has passed.

    A minor whose guardian's document waits for staff review is not erased meanwhile: the
    wait is ours, not the guardian's, and the reviewers are told once the decision date has
    passed (`guardian_document_reviews_overdue`). Someone who has come of age meanwhile is not
    erased either: their wait ends (`minor_wait_end_at_majority`), whichever sweep gets there
    first. Idempotent: each step claims its row.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    of_age = list(
        MinorAccount.objects.filter(status__in=NEEDS_GUARDIAN, adult_on__lte=today).values_list(
            "pk", flat=True
        )[:SWEEP_BATCH]
    )
    for pk in of_age:
        minor_wait_end_at_majority(minor_account_id=pk, today=today)
    in_review = GuardianDocument.objects.filter(
        guardianship__minor_id=OuterRef("user_id"),
        guardianship__status=Guardianship.Status.IN_REVIEW,
        reviewed_at__isnull=True,
    )
    due = list(
        MinorAccount.objects.filter(status__in=NEEDS_GUARDIAN, decide_by__lte=now)
        .exclude(adult_on__lte=today)
        .exclude(Exists(in_review))
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    started = sum(
        1
        for pk in due
        if minor_erasure_start(minor_account_id=pk, reason=ErasureReason.EXPIRED) is not None
    )
    confirming = list(
        Guardianship.objects.filter(
            status=Guardianship.Status.CONFIRMING, second_confirmation_after__lte=now
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    sent = sum(guardian_second_confirmation_send(guardianship_id=pk) for pk in confirming)
    return SweepResult(started, sent, guardian_document_reviews_overdue(now=now))
