"""What the retention app holds about a user: the legal holds naming them, and the staff who
changed a retention period."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from accounts.signups import register_account_in_use
from core.registry import Retention, Strategy, null, register

from .models import LegalHold

register(
    "retention.LegalHold",
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
    "retention.RetentionOverride",
    category="staff_actions",
    label="Actions taken as staff",
    user_path="set_by",
    fields={"category": "Retention period changed", "updated_at": "When"},
    strategy=Strategy.ANONYMIZE,
    anonymize={"set_by": null()},
)


def _named_by_an_ended_hold(user: OuterRef) -> Exists:
    # An active hold keeps the account through the rule's own hold check (and the report counts
    # it as held); an ended one still references the account as evidence of its case.
    ended = LegalHold.objects.exclude(pk__in=LegalHold.objects.active().values("pk"))
    return Exists(ended.filter(user=user))


register_account_in_use(_named_by_an_ended_hold)
