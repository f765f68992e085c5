"""What the announcements hold about a user, for export and erasure: only who on the staff
declared, updated or announced them."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from core.registry import Strategy, null, register
from notices.personal_data import register_audience_keeper

# Announcements staff made: the record stays (it is what users were told), the author's link goes.
for _label, _path, _fields in (
    (
        "announcements.Incident",
        "declared_by",
        {"title": "Incident declared", "declared_at": "When"},
    ),
    (
        "announcements.IncidentUpdate",
        "created_by",
        {"incident__title": "Incident updated", "created_at": "When"},
    ),
    (
        "announcements.TransferNotice",
        "created_by",
        {"new_controller": "Transfer notice", "created_at": "When"},
    ),
    (
        "announcements.ServiceTermination",
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


# The inbox keeps who a notice reached while they may still hear more about it.
register_audience_keeper(lambda: Q(incident__status="open"))  # its updates go to them
register_audience_keeper(lambda: Q(transfer__effective_on__gte=timezone.localdate()))
register_audience_keeper(  # a cancellation goes to those told
    lambda: Q(
        termination__isnull=False,
        termination__cancelled_at__isnull=True,
        termination__executed_at__isnull=True,
    )
)
