"""What the notices app holds about a user, for export and erasure."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

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

# Notices staff wrote: the record stays (it is what users were told), the author's link goes.
for _label, _path, _fields in (
    ("notices.Broadcast", "created_by", {"title": "Notice sent", "created_at": "When"}),
    ("notices.Incident", "declared_by", {"title": "Incident declared", "declared_at": "When"}),
    (
        "notices.IncidentUpdate",
        "created_by",
        {"incident__title": "Incident updated", "created_at": "When"},
    ),
    (
        "notices.TransferNotice",
        "created_by",
        {"new_controller": "Transfer notice", "created_at": "When"},
    ),
    (
        "notices.ServiceTermination",
        "announced_by",
        {"ends_on": "End of service announced", "announced_at": "When"},
    ),
):
    register(
        _label,
        category="staff_actions",
        label="Actions taken as staff",
        user_path=_path,
        fields=_fields,
        strategy=Strategy.ANONYMIZE,
        anonymize={_path: null()},
    )


# --- Retention (core.retention): inbox messages ------------------------------------------------


def _broadcasts_still_needing_their_audience() -> QuerySet[Any]:
    """Broadcasts whose message rows are still the list of who they reached: one being sent,
    an open incident's notice (its updates go to the same people), a transfer notice until the
    transfer takes effect, and the announcement of an end of the service that may still be
    cancelled (the cancellation goes to those told)."""
    return Broadcast.objects.filter(
        Q(state="sending")
        | Q(incident__status="open")
        | Q(transfer__effective_on__gte=timezone.localdate())
        | Q(
            termination__isnull=False,
            termination__cancelled_at__isnull=True,
            termination__executed_at__isnull=True,
        )
    ).values("pk")


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
