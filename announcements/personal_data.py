"""What the announcements hold about a user, for export and erasure: only who on the staff
declared, updated or announced them."""

from __future__ import annotations

from core.registry import Strategy, null, register

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
