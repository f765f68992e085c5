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
