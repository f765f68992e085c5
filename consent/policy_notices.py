"""The e-mail fan-out after a material policy version is published.

Resumable and idempotent: users are taken in batches by ascending id; a batch first gets one
`PolicyNotice` row per user (the unique row is the memory of who is due), then each row is
claimed (pending -> sending) before its mail goes out and marked sent after. A redelivered
task, a second worker or the sweep finds the claimed rows and moves on, so nobody is mailed
twice; a worker killed mid-batch is resumed from the rows still pending. A row it died on
stays "sending" (it may or may not have gone out) and is not sent again: staff see the count.

Only people who had an account before publication are told (later sign-ups accepted the new
version), and only at a verified address. The mail is the same for everyone: a greeting, what
changed, when it takes effect and a link; nothing about the person. Logs carry counts only.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

from .models import PolicyNotice, PolicyVersion

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
UNDELIVERABLE_DOMAIN = "@erased.invalid"
# The sweep stops looking at a version this long after its publication.
SWEEP_WINDOW = datetime.timedelta(days=30)
# A fan-out with no activity for this long lost its task (a running one is never restarted,
# so the sweep cannot pile up parallel fan-outs). Longer than a task's slice.
STALLED_AFTER = datetime.timedelta(minutes=15)


def _version_to_notify(version_id: int) -> PolicyVersion | None:
    return PolicyVersion.objects.filter(
        pk=version_id,
        status=PolicyVersion.Status.PUBLISHED,
        is_material=True,
        published_at__isnull=False,
    ).first()


def recipients(*, joined_before: datetime.datetime) -> QuerySet[User]:
    """Who is told about a version published at `joined_before`: active accounts from before
    it, with a verified address."""
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), primary=True, verified=True)
    return (
        User.objects.filter(is_active=True, date_joined__lt=joined_before)
        .filter(Exists(verified))
        .exclude(email="")
        .exclude(email__endswith=UNDELIVERABLE_DOMAIN)
    )


def _recipients(version: PolicyVersion) -> QuerySet[User]:
    assert version.published_at is not None
    return recipients(joined_before=version.published_at)


def _message(version: PolicyVersion) -> tuple[str, str]:
    base = settings.PORTAL_URL
    previous = (
        PolicyVersion.objects.filter(
            status=PolicyVersion.Status.PUBLISHED, effective_on__lte=version.effective_on
        )
        .exclude(pk=version.pk)
        .order_by("-effective_on", "-published_at")
        .first()
    )
    diff_url = ""
    if previous is not None:
        diff_url = (
            f"{base}{reverse('privacy:policy_diff')}?from={previous.version}&to={version.version}"
        )
    context = {
        "COMPANY_NAME": settings.COMPANY_NAME,
        "COMPANY_CONTACT_EMAIL": settings.COMPANY_CONTACT_EMAIL,
        "version": version,
        "policy_url": base + reverse("privacy:policy_version", args=[version.version]),
        "diff_url": diff_url,
    }
    subject = render_to_string("consent/email/policy_updated_subject.txt", context)
    body = render_to_string("consent/email/policy_updated_message.txt", context)
    return " ".join(subject.split()), body


def _create_next_batch(version: PolicyVersion, batch_size: int) -> int:
    """Add the next batch of due users: every recipient without a notice row. Idempotent.

    Not "after the highest id recorded": an older account that became a recipient late (it
    verified its address after the fan-out passed its id) must still be reached.
    """
    user_ids = list(
        _recipients(version)
        .exclude(pk__in=version.notices.values("user_id"))
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    PolicyNotice.objects.bulk_create(
        [PolicyNotice(version=version, user_id=user_id) for user_id in user_ids],
        ignore_conflicts=True,
    )
    return len(user_ids)


def _send_pending(version: PolicyVersion, batch_size: int) -> int:
    pending = list(
        PolicyNotice.objects.filter(version=version, state=PolicyNotice.State.PENDING)
        .select_related("user")
        .order_by("user_id")[:batch_size]
    )
    if not pending:
        return 0
    subject, body = _message(version)
    sent = 0
    with get_connection() as connection:
        for notice in pending:
            sent += _send_one(notice, subject, body, connection)
    return sent


def _send_one(notice: PolicyNotice, subject: str, body: str, connection: BaseEmailBackend) -> int:
    rows = PolicyNotice.objects.filter(pk=notice.pk)
    user = notice.user
    if not user.is_active or not user.email or user.email.endswith(UNDELIVERABLE_DOMAIN):
        rows.filter(state=PolicyNotice.State.PENDING).update(state=PolicyNotice.State.SKIPPED)
        return 0
    claimed = rows.filter(state=PolicyNotice.State.PENDING).update(
        state=PolicyNotice.State.SENDING, attempted_at=timezone.now()
    )
    if not claimed:
        return 0  # another worker has it
    try:
        # One recipient per message: addresses are never shown to each other.
        EmailMessage(subject, body, to=[user.email], connection=connection).send()
    except Exception as exc:
        if _is_permanent(exc):
            # This address will never take the message: stop trying it, carry on with others.
            rows.update(state=PolicyNotice.State.REFUSED)
            return 0
        # Not sent: back in the queue for the retry (the task retries with backoff).
        rows.update(state=PolicyNotice.State.PENDING)
        raise
    rows.update(state=PolicyNotice.State.SENT, sent_at=timezone.now())
    return 1


def _is_permanent(exc: Exception) -> bool:
    """An error a retry cannot fix: refused recipient, 5xx answer, unsendable address."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPNotSupportedError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, UnicodeError | ValueError)


def policy_notify_step(*, version_id: int, batch_size: int = BATCH_SIZE) -> bool:
    """Do one batch of the fan-out for a material version. True while work remains."""
    version = _version_to_notify(version_id)
    if version is None:
        return False
    has_pending = version.notices.filter(state=PolicyNotice.State.PENDING).exists()
    created = 0 if has_pending else _create_next_batch(version, batch_size)
    sent = _send_pending(version, batch_size)
    logger.info("policy notices: version id %s, %s e-mailed in this batch", version.pk, sent)
    if version.notices.filter(state=PolicyNotice.State.PENDING).exists():
        return True
    return has_pending or created == batch_size


def policy_notices_unfinished(version: PolicyVersion) -> bool:
    """Whether the fan-out of `version` still has users to reach (for the sweep)."""
    if version.notices.filter(state=PolicyNotice.State.PENDING).exists():
        return True
    last_due = _recipients(version).aggregate(last=Max("pk"))["last"]
    last_recorded = version.notices.aggregate(last=Max("user_id"))["last"] or 0
    return last_due is not None and last_due > last_recorded


def _last_activity(version: PolicyVersion) -> datetime.datetime:
    seen = version.notices.aggregate(created=Max("created_at"), attempted=Max("attempted_at"))
    moments = [version.published_at, seen["created"], seen["attempted"]]
    return max(moment for moment in moments if moment is not None)


def versions_with_stalled_notices() -> list[int]:
    """Material versions published recently whose fan-out stopped short (a lost task)."""
    now = timezone.now()
    versions = PolicyVersion.objects.filter(
        status=PolicyVersion.Status.PUBLISHED,
        is_material=True,
        published_at__gte=now - SWEEP_WINDOW,
    )
    return [
        version.pk
        for version in versions
        if _last_activity(version) < now - STALLED_AFTER and policy_notices_unfinished(version)
    ]


@dataclass(frozen=True)
class NoticeProgress:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    refused: int = 0
    skipped: int = 0


def notice_progress(version: PolicyVersion) -> NoticeProgress:
    counts = dict(
        version.notices.values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    return NoticeProgress(**{state: counts.get(state, 0) for state in PolicyNotice.State.values})
