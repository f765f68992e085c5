"""What the portal announces to its users: security incidents and their timeline, transfer
(merger) notices and the end of the service. Each is told through a notices broadcast.

The tables keep the names they had when these models lived in notices (their rows stay as they
were; migration 0001 only takes them into this app's state). Their audit actions keep the names
they were first written under (`notices.incident_declared`, `notices.termination_executed`, ...):
the log's existing entries use them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notices.models import Broadcast


class Incident(models.Model):
    """A security incident, as the policy promises to report it: the basic situation, how it is
    handled and remedied, and what users can do."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    title = models.CharField(max_length=200)
    what_happened = models.TextField(help_text=_("The basic situation, in plain language."))
    occurred_at = models.DateTimeField(null=True, blank=True)
    found_at = models.DateTimeField()
    # Registry category keys ("profile", "account", ...).
    data_categories = models.JSONField(default=list, blank=True)
    measures_taken = models.TextField()
    measures_planned = models.TextField(blank=True)
    advice = models.TextField(help_text=_("What users can do to protect themselves."))
    audience = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    declared_at = models.DateTimeField(default=timezone.now)
    broadcast = models.OneToOneField(
        Broadcast, null=True, blank=True, on_delete=models.PROTECT, related_name="incident"
    )

    class Meta:
        ordering = ["-declared_at"]
        db_table = "notices_incident"

    def __str__(self) -> str:
        return self.title


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline; it may be sent to the incident's audience."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    broadcast = models.OneToOneField(
        Broadcast, null=True, blank=True, on_delete=models.PROTECT, related_name="incident_update"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        db_table = "notices_incidentupdate"

    def __str__(self) -> str:
        return f"Update of {self.created_at:%Y-%m-%d %H:%M}"


class TransferNotice(models.Model):
    """A merger, acquisition or asset transfer: who the new controller is and what changes.

    When `requires_consent`, each user accepts or objects from their inbox, which records a
    ledger event for each of `purposes` (consent-based purposes only)."""

    class Kind(models.TextChoices):
        MERGER = "merger", _("Merger")
        ACQUISITION = "acquisition", _("Acquisition")
        ASSET_TRANSFER = "asset_transfer", _("Asset transfer")
        OTHER = "other", _("Other transfer")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    new_controller = models.CharField(max_length=200)
    new_controller_contact = models.CharField(max_length=254, blank=True)
    what_changes = models.TextField()
    effective_on = models.DateField()
    requires_consent = models.BooleanField(default=False)
    purposes = models.ManyToManyField("consent.Purpose", blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    broadcast = models.OneToOneField(
        Broadcast, null=True, blank=True, on_delete=models.PROTECT, related_name="transfer"
    )

    class Meta:
        ordering = ["-created_at"]
        db_table = "notices_transfernotice"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.new_controller}"


class ServiceTermination(models.Model):
    """The announced end of the service. At most one is active (not cancelled)."""

    ends_on = models.DateField()
    reason = models.TextField(blank=True)
    announced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    announced_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The dry-run report last produced (what execution would do, per registry entry).
    last_report = models.JSONField(default=dict, blank=True)
    last_report_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    broadcast = models.OneToOneField(
        Broadcast, null=True, blank=True, on_delete=models.PROTECT, related_name="termination"
    )

    class Meta:
        ordering = ["-announced_at"]
        db_table = "notices_servicetermination"
        constraints = [
            # A unique index on a constant over the active rows: a second active row collides
            # with the first (a unique column would not: NULLs are distinct from each other).
            models.UniqueConstraint(
                Value(True),
                condition=Q(cancelled_at__isnull=True),
                name="one_active_termination",
                violation_error_message="The end of the service is already announced.",
            )
        ]

    def __str__(self) -> str:
        return f"End of service on {self.ends_on}"
