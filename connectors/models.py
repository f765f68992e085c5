"""Connected systems (where personal data lives outside the portal) and the child jobs a request
sends them. The database row is the truth: a job's status says what was done, the broker only
wakes a worker up. Secrets, DSNs, the subject's identifiers and results are encrypted at rest.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    HTTP = "http", _("HTTP connector (signed protocol)")
    DATABASE = "database", _("Database mapping (PostgreSQL)")
    MANUAL = "manual", _("Manual (a staff task)")


class Identifier(models.TextChoices):
    """What a system may know the subject by. The portal sends only what the system needs."""

    EMAIL = "email", _("E-mail address")
    USER_ID = "user_id", _("Portal user id")
    PHONE = "phone", _("Phone number")
    HASHED_ID = "hashed_id", _("Pseudonymous id (keyed hash)")


class JobType(models.TextChoices):
    """What a job asks a system to do (the protocol's `type`)."""

    EXPORT = "export", _("Export the subject's data")
    ERASE = "erase", _("Erase the subject's data")
    CORRECT = "correct", _("Apply corrections")
    WITHDRAW_CONSENT = "withdraw_consent", _("Stop processing for withdrawn purposes")
    RESTRICT = "restrict", _("Restrict processing")


class RequesterReason(models.TextChoices):
    """Why a system's part is missing from a copy, in the words the requester reads (the
    officer's own reason stays with staff)."""

    LEGAL_RESTRICTION = (
        "legal_restriction",
        _(
            "The law does not allow us to include this part in a copy (for example while an "
            "investigation is under way)."
        ),
    )
    OTHERS_RIGHTS = (
        "others_rights",
        _(
            "This part could not be separated from other people's information, whose privacy we "
            "must protect as well."
        ),
    )
    NOTHING_TO_COPY = (
        "nothing_to_copy",
        _("This system turned out to hold nothing about you that a copy can include."),
    )
    UNAVAILABLE = (
        "unavailable",
        _(
            "This system could not give us its part in time. Write to us if you would like it "
            "later."
        ),
    )


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent, waiting for the answer")
    WAITING = "waiting", _("Accepted, waiting for the result")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    NOT_APPLICABLE = "not_applicable", _("Not in scope")
    EXCEPTED = "excepted", _("Excepted by a privacy officer")


# A request is settled with a system once its job is in one of these.
SETTLED_STATUSES = frozenset({JobStatus.DONE, JobStatus.NOT_APPLICABLE, JobStatus.EXCEPTED})
# Statuses in which a job still has work ahead (a worker, a callback or staff will move it).
ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.SENT, JobStatus.WAITING})


class ConnectedSystem(models.Model):
    """A system holding personal data outside the portal, and how it is reached."""

    key = models.SlugField(
        unique=True,
        max_length=40,
        help_text=_("A short stable name; signing key ids start with it. Cannot change later."),
    )
    name = models.CharField(max_length=100, unique=True)
    owner_team = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    categories = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Personal-data categories it holds, e.g. ["play_history", "purchases"].'),
    )
    purposes = models.ManyToManyField(
        "consent.Purpose",
        blank=True,
        related_name="connected_systems",
        help_text=_("Purposes of the consent catalogue it serves."),
    )
    third_party = models.ForeignKey(
        "consent.ThirdParty",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="connected_systems",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    request_types = models.JSONField(
        default=list, help_text=_("The request types it is in scope for.")
    )
    identifiers = models.JSONField(
        default=list, help_text=_("What it knows the subject by; only these are sent.")
    )
    enabled = models.BooleanField(default=True)

    # HTTP connector.
    url = models.URLField(blank=True, max_length=500)
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_version = models.PositiveIntegerField(default=0, editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_version = models.PositiveIntegerField(null=True, blank=True, editable=False)

    # Database connector.
    dsn_encrypted = models.TextField(blank=True, editable=False)
    mapping = models.JSONField(default=dict, blank=True)

    # Retries and the circuit breaker (every machine connector).
    max_attempts = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    retry_base_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        help_text=_("The first retry's delay; each next one doubles it (at most an hour)."),
    )
    failure_threshold = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Consecutive failures that open the circuit breaker."),
    )
    cooldown_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(1), MaxValueValidator(86400)],
        help_text=_("How long an open breaker waits before one probe is let through."),
    )
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    open_until = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="http") | ~models.Q(url=""), name="connector_http_has_url"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def key_id(self) -> str:
        """The id of the current signing secret, sent with every signature."""
        return f"{self.key}.{self.secret_version}"

    @property
    def previous_key_id(self) -> str | None:
        if self.previous_secret_version is None or not self.previous_secret_encrypted:
            return None
        return f"{self.key}.{self.previous_secret_version}"

    @property
    def breaker_open(self) -> bool:
        return self.open_until is not None and self.open_until > timezone.now()


class ConnectorJob(models.Model):
    """One request's work at one system. `id` is the idempotency key the system receives."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "requests_dsar.DataSubjectRequest", on_delete=models.CASCADE, related_name="connector_jobs"
    )
    system = models.ForeignKey(ConnectedSystem, on_delete=models.PROTECT, related_name="jobs")
    type = models.CharField(max_length=20, choices=JobType.choices)
    status = models.CharField(
        max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    # What the system gets about the subject, sealed: the identifiers it knows them by (taken
    # when the job was created: the portal's own erasure may remove them before the system is
    # reached) and, for corrections, the new values. Emptied once the job is settled.
    subject_sealed = models.TextField(blank=True)
    # What the job covers: categories and purposes (no personal data).
    scope = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The error's type or code (`timeout`, `http_500`, `ConnectionError`), never its text.
    last_error = models.CharField(max_length=100, blank=True)
    # Counts only: {"categories": {name: rows}} for exports, {"erased": {...}} for erasures.
    result_summary = models.JSONField(default=dict, blank=True)
    # The system's own reference for what it did (an erasure's confirmation).
    confirmation = models.CharField(max_length=200, blank=True)
    # The result's data (an export's JSON, a manual task's file), encrypted in storage.
    result_storage_name = models.CharField(max_length=300, blank=True)
    result_key_id = models.CharField(max_length=40, blank=True)
    result_content_type = models.CharField(max_length=100, blank=True)
    result_size = models.PositiveBigIntegerField(default=0)
    result_sha256 = models.CharField(max_length=64, blank=True)
    # The officer's reason for excepting the system: internal, never shown to the requester.
    excepted_reason = models.TextField(blank=True)
    # What the requester's copy says instead: a reason from the fixed list, in the officer's
    # own words if they rewrote it.
    requester_reason = models.CharField(max_length=30, choices=RequesterReason.choices, blank=True)
    requester_text = models.TextField(blank=True)
    excepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    excepted_at = models.DateTimeField(null=True, blank=True)
    # When staff were told this job is stuck (failed, or its system's breaker open); emptied
    # when it is sent again, so a new stall is told again.
    stuck_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "system__name"]
        permissions = [("except_connectorjob", "Can except a system from a request")]
        constraints = [
            models.UniqueConstraint(fields=["request", "system"], name="connector_job_once"),
            models.CheckConstraint(
                condition=~models.Q(status="excepted") | ~models.Q(excepted_reason=""),
                name="connector_job_exception_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        # What staff read in the admin's titles and breadcrumbs: what was asked, of which system,
        # for which request (by its short reference).
        request = str(self.request.public_id)[:8] if self.request_id else "—"
        return f"{self.get_type_display()} at {self.system.name}, request {request}"

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_STATUSES


class ManualTask(models.Model):
    """A job at a system without a machine interface: staff do it by hand and record it."""

    job = models.OneToOneField(ConnectorJob, on_delete=models.CASCADE, related_name="manual_task")
    instructions = models.TextField()
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, max_length=5000)

    class Meta:
        ordering = [models.F("due_at").asc(nulls_last=True), "created_at"]

    def __str__(self) -> str:
        return f"Manual task #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None
