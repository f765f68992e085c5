"""The site inbox, e-mail preferences and broadcasts (one notice to many users). What is
broadcast (security incidents, transfer notices, the end of the service) is the announcements
app's.

A `Message` is one notice to one user: the inbox row and, by the user's preference, an e-mail.
A `Broadcast` is a fan-out: its audience is a stored description walked batch by batch in
ascending user id from a stored cursor, and the unique (broadcast, user) message row is the
memory of who has been reached, so a resumed or repeated fan-out never notifies anyone twice.
Once the walk has finished the audience is closed: retrying failed e-mails never reaches anyone
new.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    ACCOUNT_SECURITY = "account_security", _("Account security")
    REQUEST_UPDATES = "request_updates", _("Request updates")
    POLICY_CHANGES = "policy_changes", _("Policy changes")
    SECURITY_INCIDENTS = "security_incidents", _("Security incidents")
    SERVICE_NOTICES = "service_notices", _("Service notices")


# Categories a user cannot switch off: they are told by e-mail whatever their preference.
MANDATORY_CATEGORIES = frozenset({Category.REQUEST_UPDATES, Category.SECURITY_INCIDENTS})


class EmailState(models.TextChoices):
    NOT_WANTED = "not_wanted", _("Site message only (the user's choice)")
    NO_ADDRESS = "no_address", _("Site message only (no verified address)")
    PENDING = "pending", _("E-mail queued")
    SENDING = "sending", _("E-mail being sent (in doubt if it stays)")
    SENT = "sent", _("E-mail sent")
    FAILED = "failed", _("E-mail failed")


class Response(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    OBJECTED = "objected", _("Objected")


class Broadcast(models.Model):
    """One notice sent to an audience, in resumable batches."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", _("Security incident")
        INCIDENT_UPDATE = "incident_update", _("Security incident update")
        POLICY = "policy", _("Policy update")
        TRANSFER = "transfer", _("Transfer of personal information")
        TERMINATION = "termination", _("End of the service")
        SERVICE = "service", _("Service notice")

    class State(models.TextChoices):
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")

    # What this broadcast is for, unique: "incident:3", "incident-update:7", "policy:2". Creating
    # a broadcast for the same source twice returns the first one.
    source = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    category = models.CharField(max_length=24, choices=Category.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    # Who is told: {"kind": "all"}, {"kind": "joined_before", "at": iso},
    # {"kind": "logged_in", "after": iso, "before": iso}, {"kind": "data_category", "category": c},
    # {"kind": "users", "ids": [...]}, {"kind": "broadcast", "id": n} (the same people as n).
    audience = models.JSONField(default=dict)
    # The notice asks each user to accept or object (a transfer that needs new consent).
    requires_response = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SENDING)
    # The fan-out's walk of the audience: the highest user id it has reached (None before its
    # first batch), and when it finished. After that no message is added to this broadcast.
    cursor = models.BigIntegerField(null=True, blank=True, editable=False)
    audience_closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Message(models.Model):
    """One notice to one user: a row of their inbox, and maybe an e-mail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    broadcast = models.ForeignKey(
        Broadcast, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    category = models.CharField(max_length=24, choices=Category.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=12, choices=EmailState.choices)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)
    requires_response = models.BooleanField(default=False)
    response = models.CharField(max_length=10, choices=Response.choices, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "user"],
                condition=Q(broadcast__isnull=False),
                name="message_once_per_broadcast",
            )
        ]
        indexes = [
            models.Index(fields=["user", "archived_at", "read_at"], name="message_inbox"),
            models.Index(fields=["broadcast", "email_state", "user"], name="message_fanout"),
            models.Index(fields=["created_at"], name="message_created"),
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Preference(models.Model):
    """Whether a user wants e-mail for a category. No row: yes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences"
    )
    category = models.CharField(max_length=24, choices=Category.choices)
    email = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category"], name="preference_once")]

    def __str__(self) -> str:
        return f"{self.category}: {'e-mail' if self.email else 'site only'}"
