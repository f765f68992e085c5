"""Every write of the notices app: telling one user, preferences, the inbox, broadcasts.

Mail goes out after commit through a Celery task (`tasks.send_message_email`), never inside the
request; the message row is the truth and the task only a wake-up, so a lost task leaves a
pending e-mail that the sweep sends later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from core import mail
from core.audit import audit_staff_action

from .audience import validate_audience
from .models import (
    MANDATORY_CATEGORIES,
    Broadcast,
    Category,
    EmailState,
    Message,
    Preference,
)

TITLE_MAX_LENGTH = 200


def _has_verified_address(user: User) -> bool:
    if not user.is_active or not mail.is_deliverable(user.email):
        return False
    return EmailAddress.objects.filter(user=user, primary=True, verified=True).exists()


def email_wanted(user: User, category: str) -> bool:
    """Whether `user` is e-mailed about `category`: always for mandatory categories."""
    if category in MANDATORY_CATEGORIES:
        return True
    choice = Preference.objects.filter(user=user, category=category).values_list("email", flat=True)
    return next(iter(choice), True)


def initial_email_state(user: User, category: str) -> str:
    if not _has_verified_address(user):
        return EmailState.NO_ADDRESS
    return EmailState.PENDING if email_wanted(user, category) else EmailState.NOT_WANTED


@dataclass(frozen=True)
class PreferenceView:
    category: str
    label: str
    email: bool
    mandatory: bool


def preferences_for(user: User) -> list[PreferenceView]:
    chosen = dict(Preference.objects.filter(user=user).values_list("category", "email"))
    return [
        PreferenceView(
            category=value,
            label=str(label),
            email=True if value in MANDATORY_CATEGORIES else chosen.get(value, True),
            mandatory=value in MANDATORY_CATEGORIES,
        )
        for value, label in Category.choices
    ]


def preferences_update(*, user: User, choices: Mapping[str, bool]) -> list[PreferenceView]:
    """Set e-mail on or off per category. Switching off a mandatory category is refused."""
    for category, email in choices.items():
        if category not in Category.values:
            raise ValidationError(
                f"Unknown notice category: choose from {', '.join(Category.values)}."
            )
        if not isinstance(email, bool):
            raise ValidationError("Each preference must be true or false.")
        if category in MANDATORY_CATEGORIES and not email:
            label = Category(category).label
            raise ValidationError(f"{label} are always sent by e-mail and cannot be switched off.")
    with transaction.atomic():
        for category, email in choices.items():
            Preference.objects.update_or_create(
                user=user, category=category, defaults={"email": email}
            )
    return preferences_for(user)


def _queue_email(message_id: int) -> None:
    from .tasks import send_message_email

    transaction.on_commit(partial(send_message_email.delay, message_id))


def notify(*, user: User, category: str, title: str, body: str, link: str = "") -> Message:
    """Tell one user something: a site message, and an e-mail if they want (or must get) one.

    `title` and `body` are our own wording: they may name a request's reference, never a
    personal value, because the e-mail repeats them.
    """
    if category not in Category.values:
        raise ValueError(f"unknown notice category {category!r}")
    message = Message.objects.create(
        user=user,
        category=category,
        title=title[:TITLE_MAX_LENGTH],
        body=body,
        link=link,
        email_state=initial_email_state(user, category),
    )
    if message.email_state == EmailState.PENDING:
        _queue_email(message.pk)
    return message


# --- The inbox ---------------------------------------------------------------------------------


def inbox(user: User, *, archived: bool = False) -> Any:
    return Message.objects.filter(user=user, archived_at__isnull=not archived)


def message_for(user: User, message_id: int) -> Message | None:
    """One of the user's own messages, or None (never another user's)."""
    return Message.objects.filter(user=user, pk=message_id).first()


def message_mark_read(*, user: User, message_id: int, read: bool = True) -> Message | None:
    message = message_for(user, message_id)
    if message is None:
        return None
    if read and message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    elif not read and message.read_at is not None:
        message.read_at = None
        message.save(update_fields=["read_at"])
    return message


def messages_mark_all_read(*, user: User) -> int:
    return Message.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def message_archive(*, user: User, message_id: int, archived: bool = True) -> Message | None:
    """Archive (or bring back) a message. Archiving also marks it read."""
    message = message_for(user, message_id)
    if message is None:
        return None
    now = timezone.now()
    if archived:
        message.archived_at = message.archived_at or now
        message.read_at = message.read_at or now
    else:
        message.archived_at = None
    message.save(update_fields=["archived_at", "read_at"])
    return message


@dataclass(frozen=True)
class InboxCounts:
    unread: int
    unread_incidents: int


def inbox_counts(user: User) -> InboxCounts:
    counts = Message.objects.filter(
        user=user, read_at__isnull=True, archived_at__isnull=True
    ).aggregate(
        unread=Count("pk"),
        incidents=Count("pk", filter=Q(category=Category.SECURITY_INCIDENTS)),
    )
    return InboxCounts(unread=counts["unread"], unread_incidents=counts["incidents"])


# --- Broadcasts ----------------------------------------------------------------------------


def broadcast_start(broadcast_id: int) -> None:
    """Wake the fan-out of a broadcast after commit (idempotent)."""
    from .tasks import fan_out_broadcast

    transaction.on_commit(partial(fan_out_broadcast.delay, broadcast_id))


def broadcast_create(
    *,
    source: str,
    kind: str,
    category: str,
    title: str,
    body: str,
    audience: Mapping[str, Any],
    link: str = "",
    requires_response: bool = False,
    created_by: User | None = None,
) -> Broadcast:
    """Create and start a broadcast; a second call for the same `source` returns the first.

    Raises ValidationError for an audience description that cannot be used.
    """
    if not title.strip() or not body.strip():
        raise ValidationError("A notice needs a title and a text.")
    if len(title) > TITLE_MAX_LENGTH:
        raise ValidationError(f"A notice title has at most {TITLE_MAX_LENGTH} characters.")
    existing = Broadcast.objects.filter(source=source).first()
    if existing is not None:
        return existing
    spec = validate_audience(audience)
    try:
        with transaction.atomic():
            broadcast = Broadcast.objects.create(
                source=source,
                kind=kind,
                category=category,
                title=title,
                body=body,
                link=link,
                audience=spec,
                requires_response=requires_response,
                created_by=created_by,
            )
    except IntegrityError:
        return Broadcast.objects.get(source=source)
    broadcast_start(broadcast.pk)
    return broadcast


def broadcast_retry_failed(*, broadcast: Broadcast) -> int:
    """Queue the failed e-mails of a broadcast again and restart its fan-out.

    Only the e-mails of messages already written go out again: a finished broadcast's audience
    is closed, so nobody who joined since is told (an old incident's notice reaches no one who
    signed up after it).
    """
    with transaction.atomic():
        locked = Broadcast.objects.select_for_update().get(pk=broadcast.pk)
        retried = locked.messages.filter(email_state=EmailState.FAILED).update(
            email_state=EmailState.PENDING, email_attempts=0
        )
        if retried:
            now = timezone.now()
            # Closed already when its walk ended; a broadcast finished before the walk recorded
            # that (an older row) is closed here, at the latest.
            closed = locked.audience_closed_at
            if closed is None and locked.state == Broadcast.State.DONE:
                closed = locked.finished_at or now
            Broadcast.objects.filter(pk=locked.pk).update(
                state=Broadcast.State.SENDING,
                finished_at=None,
                last_activity_at=now,
                audience_closed_at=closed,
            )
            broadcast_start(locked.pk)
    return retried


@transaction.atomic
def broadcast_retry(*, broadcast: Broadcast, actor: User | None) -> int:
    """Staff retry a broadcast's failed e-mails (audited). Returns how many were queued."""
    retried = broadcast_retry_failed(broadcast=broadcast)
    if retried:
        audit_staff_action(
            action="notices.broadcast_retried",
            actor=actor,
            target=broadcast,
            data={"emails": retried},
        )
    return retried


def message_respond(*, user: User, message_id: int, response: str) -> Message:
    """Record a user's answer to a notice that asks for one (accept or object). Once only;
    the answer's effect (ledger events for a transfer) is applied by the notice's kind."""
    from .models import Response

    if response not in Response.values:
        raise ValidationError("Answer 'accepted' or 'objected'.")
    with transaction.atomic():
        message = (
            # Only the message row: PostgreSQL cannot lock the nullable side of the join.
            Message.objects.select_for_update(of=("self",))
            .select_related("broadcast")
            .filter(user=user, pk=message_id)
            .first()
        )
        if message is None:
            raise Message.DoesNotExist
        if not message.requires_response:
            raise ValidationError("This notice does not ask for an answer.", code="conflict")
        if message.response:
            if message.response == response:
                return message
            raise ValidationError("You have already answered this notice.", code="conflict")
        message.response = response
        message.responded_at = timezone.now()
        message.read_at = message.read_at or message.responded_at
        message.save(update_fields=["response", "responded_at", "read_at"])
        for handler in RESPONSE_HANDLERS.get(
            message.broadcast.kind if message.broadcast else "", []
        ):
            handler(message)
    return message


# Kind of broadcast -> what an answer does (registered by the code that owns the kind).
RESPONSE_HANDLERS: dict[str, list[Any]] = {}


def on_response(kind: str, handler: Any) -> None:
    RESPONSE_HANDLERS.setdefault(kind, []).append(handler)
