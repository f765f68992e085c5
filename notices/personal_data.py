"""What the notices app holds about a user, for export and erasure."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from core.registry import Strategy, null, register
from core.retention import Action, Target, register_rule

from .models import Broadcast, Message

register(
    "notices.Message",
    category="messages",
    label="Messages in your inbox",
    user_path="user",
    fields={
        "category": "Category",
        "title": "Title",
        "body": "Text",
        "created_at": "Received",
        "read_at": "Read",
        "archived_at": "Archived",
        "email_state": "E-mail",
        "emailed_at": "E-mailed",
        "response": "Your answer",
        "responded_at": "Answered",
    },
    strategy=Strategy.DELETE,
)
register(
    "notices.Preference",
    category="messages",
    label="Messages in your inbox",
    user_path="user",
    fields={"category": "Notice category", "email": "By e-mail", "updated_at": "Changed"},
    strategy=Strategy.DELETE,
)

# Notices staff sent: the record stays (it is what users were told), the author's link goes.
register(
    "notices.Broadcast",
    category="staff_actions",
    label="Actions taken as staff",
    user_path="created_by",
    fields={"title": "Notice sent", "created_at": "When"},
    strategy=Strategy.ANONYMIZE,
    anonymize={"created_by": null()},
)


# --- Retention (core.retention): inbox messages ------------------------------------------------


# Who a broadcast reached stays while they may still hear more: the app that sent it says when
# (announcements: an open incident's updates, a transfer before it takes effect, an end of the
# service that may be cancelled). Each registers a callable returning a condition on Broadcast.
_audience_keepers: list[Callable[[], Q]] = [lambda: Q(state="sending")]


def register_audience_keeper(keeper: Callable[[], Q]) -> None:
    """Add a condition on Broadcast under which its message rows are kept (idempotent)."""
    if keeper not in _audience_keepers:
        _audience_keepers.append(keeper)


def _broadcasts_still_needing_their_audience() -> QuerySet[Any]:
    """Broadcasts whose message rows are still the list of who they reached: one being sent,
    and any a registered keeper names."""
    condition = Q()
    for keeper in _audience_keepers:
        condition |= keeper()
    return Broadcast.objects.filter(condition).values("pk")


def _inbox_messages(cutoff: datetime.datetime) -> QuerySet[Any]:
    return Message.objects.filter(created_at__lt=cutoff).exclude(
        broadcast__in=_broadcasts_still_needing_their_audience()
    )


register_rule(
    "inbox_messages",
    label="Inbox messages",
    removes="Site messages older than the period.",
    keeps="Messages of a notice whose recipients may still hear more: one being sent, an open "
    "security incident's notice, a transfer notice before the transfer takes effect, and an "
    "announced end of the service not yet cancelled or carried out.",
    default_days=365,
    targets=[Target("notices.Message", Action.DELETE, _inbox_messages, ("user_id",))],
    order=70,
)
