"""What the notices app holds about a user, for export and erasure."""

from __future__ import annotations

from core.registry import Strategy, null, register

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
