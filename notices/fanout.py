"""Sending: one message's e-mail, and the batch-by-batch fan-out of a broadcast.

Idempotent and resumable. A broadcast's audience is walked by ascending user id from a cursor
stored on the broadcast (the highest id reached), so each batch reads only the next users, never
the whole audience again. Each batch first gets one `Message` per user (the unique
(broadcast, user) row is the memory of who has been reached) and moves the cursor in the same
transaction, then each pending e-mail is claimed (pending -> sending) before it goes out and
marked sent after. A redelivered task, a second worker or the sweep finds claimed rows and moves
on, so nobody is told twice; a worker killed mid-batch is resumed from the cursor and the rows
still pending. A row it died on stays "sending" (it may or may not have gone out) and is not sent
again.

When the walk reaches the end, one last pass looks for users it passed over who joined the
audience while it ran (an account reactivated, data added in the category), and the audience is
closed (`audience_closed_at`): from then on nothing adds a message to the broadcast, so retrying
its failed e-mails later never tells someone who signed up since.

Mail bodies are our own wording and a link; logs carry ids and counts only.
"""

from __future__ import annotations

import bisect
import datetime
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core import mail

from .audience import audience_users
from .models import MANDATORY_CATEGORIES, Broadcast, EmailState, Message, Preference

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# A transient failure (server down) is retried this many times before the e-mail is "failed".
MAX_EMAIL_ATTEMPTS = 5
# A fan-out with no activity for this long lost its task; longer than a task's slice.
STALLED_AFTER = datetime.timedelta(minutes=15)
# A fan-out marks the e-mails it sent in groups (one UPDATE for many, not one each): a worker
# killed in between leaves at most this many sent rows "sending", in doubt and never sent again.
MARK_SENT_EVERY = 50


class TransientSendError(RuntimeError):
    """The mail server could not take a message now; the task retries with backoff."""


def message_url(message: Message) -> str:
    return settings.PORTAL_URL + reverse("notices:message", args=[message.pk])


def _render(message: Message) -> tuple[str, str]:
    context = {
        "title": message.title,
        "body": message.body,
        "category": message.get_category_display(),
        "url": message_url(message),
        "preferences_url": settings.PORTAL_URL + reverse("notices:preferences"),
        "mandatory": message.category in MANDATORY_CATEGORIES,
    }
    return mail.render("notices/email/message", context)


def _is_permanent(exc: Exception) -> bool:
    """An error a retry cannot fix: refused recipient, 5xx answer, unsendable address."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPNotSupportedError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, UnicodeError | ValueError)


def send_one(
    message: Message,
    connection: BaseEmailBackend | None = None,
    *,
    sent_marks: list[int] | None = None,
) -> bool:
    """Claim and send one pending e-mail. True if it went out now.

    Raises TransientSendError when the server could not take it and attempts remain (the row
    is pending again); a permanent refusal or the last attempt marks it failed. With
    `sent_marks`, a sent row's id is added there for the caller to mark sent (`_mark_sent`)
    instead of being marked at once.
    """
    rows = Message.objects.filter(pk=message.pk, email_state=EmailState.PENDING)
    claimed = rows.update(email_state=EmailState.SENDING, email_attempts=message.email_attempts + 1)
    if not claimed:
        return False  # sent, failed or taken by another worker
    user = message.user
    this = Message.objects.filter(pk=message.pk)
    if not user.is_active or not user.email:
        this.update(email_state=EmailState.NO_ADDRESS)
        return False
    subject, body = _render(message)
    try:
        # One recipient per message: addresses are never shown to each other.
        mail.send_rendered(subject, body, [user.email], connection=connection)
    except Exception as exc:
        attempts = message.email_attempts + 1
        if _is_permanent(exc) or attempts >= MAX_EMAIL_ATTEMPTS:
            this.update(email_state=EmailState.FAILED)
            logger.warning("notice e-mail %s failed (%s)", message.pk, type(exc).__name__)
            return False
        this.update(email_state=EmailState.PENDING)
        raise TransientSendError(type(exc).__name__) from exc
    if sent_marks is None:
        this.update(email_state=EmailState.SENT, emailed_at=timezone.now())
    else:
        sent_marks.append(message.pk)
    return True


def _mark_sent(ids: list[int]) -> None:
    if ids:
        Message.objects.filter(pk__in=ids, email_state=EmailState.SENDING).update(
            email_state=EmailState.SENT, emailed_at=timezone.now()
        )
        ids.clear()


def send_message_email(message_id: int) -> bool:
    message = (
        Message.objects.select_related("user")
        .filter(pk=message_id, email_state=EmailState.PENDING)
        .first()
    )
    return message is not None and send_one(message)


def _add_messages(broadcast: Broadcast, users: list[User]) -> None:
    opted_out = set(
        Preference.objects.filter(
            user__in=users, category=broadcast.category, email=False
        ).values_list("user_id", flat=True)
    )
    from allauth.account.models import EmailAddress

    verified = set(
        EmailAddress.objects.filter(user__in=users, primary=True, verified=True).values_list(
            "user_id", flat=True
        )
    )
    mandatory = broadcast.category in MANDATORY_CATEGORIES
    now = timezone.now()
    messages = []
    for user in users:
        if user.pk not in verified:
            state = EmailState.NO_ADDRESS
        elif user.pk in opted_out and not mandatory:
            state = EmailState.NOT_WANTED
        else:
            state = EmailState.PENDING
        messages.append(
            Message(
                user=user,
                broadcast=broadcast,
                category=broadcast.category,
                title=broadcast.title,
                body=broadcast.body,
                link=broadcast.link,
                requires_response=broadcast.requires_response,
                email_state=state,
                created_at=now,
            )
        )
    Message.objects.bulk_create(messages, ignore_conflicts=True)


def _next_users(broadcast: Broadcast, cursor: int, batch_size: int) -> tuple[list[User], int]:
    """The walk's next users after `cursor` and the cursor after them (0: the walk is over).

    A listed audience is walked along its list (stored sorted by `validate_audience`): each
    batch asks about the next ids only, never the whole list again. Listed ids that cannot be
    told are passed over, so a batch may find fewer users than it read ids.
    """
    if broadcast.audience.get("kind") == "users":
        ids: list[int] = broadcast.audience["ids"]
        start = bisect.bisect_right(ids, cursor)
        window = ids[start : start + batch_size]
        if not window:
            return [], 0
        listed = audience_users({"kind": "users", "ids": window})
        return list(listed.order_by("pk")), window[-1]
    audience = audience_users(broadcast.audience)
    users = list(audience.filter(pk__gt=cursor).order_by("pk")[:batch_size])
    return users, users[-1].pk if users else 0


def _create_next_batch(broadcast: Broadcast, batch_size: int) -> tuple[int, bool]:
    """Add a message for the next users of the audience. Idempotent. Returns how many users
    were added, and whether the audience is closed (nobody will be added any more).

    The walk goes on from the stored cursor; the messages and the new cursor are written in one
    transaction, and the cursor only moves forward (a second worker on the same broadcast adds
    nothing twice). At the end of the walk, the users it passed over who have no message yet
    are added, batch by batch; when there are none left the audience is closed.
    """
    if broadcast.audience_closed_at is not None:
        return 0, True
    cursor = broadcast.cursor or 0
    users, reached = _next_users(broadcast, cursor, batch_size)
    if reached:
        with transaction.atomic():
            _add_messages(broadcast, users)
            Broadcast.objects.filter(pk=broadcast.pk).filter(
                Q(cursor__isnull=True) | Q(cursor__lt=reached)
            ).update(cursor=reached)
        return len(users), False
    # The walk is over: those it passed over, or who joined the audience after it went by. One
    # query over the audience, once per broadcast (more only if that many joined meanwhile).
    # Under the broadcast's lock, so that a second worker's step can neither add a message once
    # the audience is closed nor close it while the first is still adding.
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        if locked.audience_closed_at is not None:
            return 0, True
        already = Message.objects.filter(broadcast=broadcast, user=OuterRef("pk"))
        late = list(
            audience_users(broadcast.audience).exclude(Exists(already)).order_by("pk")[:batch_size]
        )
        if late:
            _add_messages(broadcast, late)
            return len(late), False
        locked.audience_closed_at = timezone.now()
        locked.save(update_fields=["audience_closed_at"])
    return 0, True


def _send_pending(broadcast: Broadcast, batch_size: int) -> int:
    pending = list(
        Message.objects.filter(broadcast=broadcast, email_state=EmailState.PENDING)
        .select_related("user")
        .order_by("user_id")[:batch_size]
    )
    sent = 0
    marks: list[int] = []
    if pending:
        try:
            with mail.open_connection() as connection:
                for message in pending:
                    sent += send_one(message, connection, sent_marks=marks)
                    if len(marks) >= MARK_SENT_EVERY:
                        _mark_sent(marks)
        finally:
            _mark_sent(marks)  # also when a transient failure stops the batch
    return sent


def broadcast_step(*, broadcast_id: int, batch_size: int = BATCH_SIZE) -> bool:
    """Do one batch of a broadcast's fan-out. True while work remains."""
    broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
    if broadcast is None:
        return False
    Broadcast.objects.filter(pk=broadcast.pk).update(last_activity_at=timezone.now())
    pending = broadcast.messages.filter(email_state=EmailState.PENDING)
    has_pending = pending.exists()
    created, closed = (0, False) if has_pending else _create_next_batch(broadcast, batch_size)
    sent = _send_pending(broadcast, batch_size)
    logger.info("broadcast %s: %s added, %s e-mailed in this batch", broadcast.pk, created, sent)
    if pending.exists() or has_pending or not closed:
        return True
    Broadcast.objects.filter(pk=broadcast.pk, state=Broadcast.State.SENDING).update(
        state=Broadcast.State.DONE, finished_at=timezone.now()
    )
    return False


def broadcasts_stalled() -> list[int]:
    """Broadcasts still sending whose task was lost (no activity for a while)."""
    cutoff = timezone.now() - STALLED_AFTER
    return list(
        Broadcast.objects.filter(
            state=Broadcast.State.SENDING, last_activity_at__lt=cutoff
        ).values_list("pk", flat=True)
    )


def single_emails_stalled() -> list[int]:
    """E-mails of single notices still pending a while after they were written (lost task)."""
    cutoff = timezone.now() - STALLED_AFTER
    return list(
        Message.objects.filter(
            broadcast__isnull=True, email_state=EmailState.PENDING, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:BATCH_SIZE]
    )


@dataclass(frozen=True)
class Progress:
    """How far a broadcast is: messages written, and their e-mails by state."""

    delivered: int
    queued: int
    sending: int
    sent: int
    failed: int
    site_only: int
    audience: int | None = None


def broadcast_progress(broadcast: Broadcast, *, with_audience: bool = False) -> Progress:
    counts = dict(
        broadcast.messages.values_list("email_state")
        .annotate(n=Count("pk"))
        .values_list("email_state", "n")
    )
    audience = audience_users(broadcast.audience).count() if with_audience else None
    return Progress(
        delivered=sum(counts.values()),
        queued=counts.get(EmailState.PENDING, 0),
        sending=counts.get(EmailState.SENDING, 0),
        sent=counts.get(EmailState.SENT, 0),
        failed=counts.get(EmailState.FAILED, 0),
        site_only=counts.get(EmailState.NOT_WANTED, 0) + counts.get(EmailState.NO_ADDRESS, 0),
        audience=audience,
    )


def last_message_at(broadcast: Broadcast) -> datetime.datetime | None:
    return broadcast.messages.aggregate(last=Max("created_at"))["last"]
