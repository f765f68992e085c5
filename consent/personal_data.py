"""What the consent app holds about a user, for export and erasure."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet

from core.registry import Retention, Strategy, register


def _own_events(user: Any) -> QuerySet:
    from .ledger import user_subject_key
    from .models import ConsentEvent

    return ConsentEvent.objects.filter(subject_key=user_subject_key(user.pk))


register(
    "consent.ConsentEvent",
    category="consents",
    label="Your consents",
    user_path="subject_key",
    rows=_own_events,
    fields={
        "uuid": "Receipt",
        "purpose__key": "Purpose",
        "decision": "Decision",
        "method": "How",
        "actor": "By",
        "policy_version__version": "Policy version",
        "created_at": "When",
        "decided_at": "Chosen on this device before signing in, at",
    },
    strategy=Strategy.RETAIN,
    # Proof of consent, under a pseudonymous key only: once the account is erased, nothing
    # links it to the person (the IP address and user agent are erased with the context).
    retention=Retention(
        legal_basis="Proof that consent was given or withdrawn (accountability)",
        period=datetime.timedelta(days=5 * 365),
    ),
)
register(
    "consent.ConsentEventContext",
    category="consents",
    label="Your consents",
    user_path="user",
    fields={"event__uuid": "Receipt", "ip_address": "IP address", "user_agent": "User agent"},
    strategy=Strategy.DELETE,
)
register(
    "consent.Disclosure",
    category="disclosures",
    label="Who received your data",
    user_path="user",
    fields={
        "third_party__name": "Recipient",
        "purpose__key": "Purpose",
        "data_categories": "Information shared",
        "occurred_at": "When",
        "description": "Details",
    },
    strategy=Strategy.DELETE,
)
register(
    "consent.PolicyVersion",
    category="staff_actions",
    label="Actions taken as staff",
    user_path="published_by",
    fields={"version": "Policy version published", "published_at": "When"},
    strategy=Strategy.RETAIN,
    retention=Retention(legal_basis="Record of who published each policy version", period=None),
)
