"""Data-subject requests, their history and messages, export archives, erasure proofs."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Actor

DETAILS_MAX_LENGTH = 5000  # free text of a request and of each message


class RequestType(models.TextChoices):
    ACCESS = "access", _("See my data online")
    COPY = "copy", _("Get a copy of my data")
    TRANSFER = "transfer", _("Transfer my data to another service")
    CORRECT = "correct", _("Correct my data")
    SUPPLEMENT = "supplement", _("Supplement my data")
    DELETE = "delete", _("Delete my data")
    WITHDRAW_CONSENT = "withdraw_consent", _("Withdraw my consent")
    RESTRICT = "restrict", _("Restrict processing of my data")
    QUESTION = "question", _("Ask a question")
    COMPLAINT = "complaint", _("Make a complaint")


class Status(models.TextChoices):
    IDENTITY_UNVERIFIED = "identity_unverified", _("Waiting for identity verification")
    PENDING = "pending", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_ON_SYSTEMS = "waiting_on_systems", _("Waiting for our other systems")
    NEEDS_CLARIFICATION = "needs_clarification", _("Waiting for your answer")
    AWAITING_APPROVAL = "awaiting_approval", _("With our privacy team")
    COMPLETED = "completed", _("Completed")
    DENIED = "denied", _("Denied")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Delayed by an error")


OPEN_STATUSES = frozenset(
    {
        Status.IDENTITY_UNVERIFIED,
        Status.PENDING,
        Status.IN_PROGRESS,
        Status.WAITING_ON_SYSTEMS,
        Status.NEEDS_CLARIFICATION,
        Status.AWAITING_APPROVAL,
        Status.FAILED,
    }
)


class DenialReason(models.TextChoices):
    INSUFFICIENT_VERIFICATION = "insufficient_verification", _("Identity could not be verified")
    NO_MATCH = "no_match", _("No data matches the request")
    SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud")
    TOO_MANY_REQUESTS = "too_many_requests", _("Manifestly excessive or repeated requests")
    LEGAL_EXEMPTION = "legal_exemption", _("A legal exemption applies")
    OTHER = "other", _("Other reason")


class LegalExemption(models.TextChoices):
    """The grounds of the policy's "How do we collect and use" item 15."""

    NATIONAL_SECURITY = "national_security", _("(1) National security or defence")
    PUBLIC_SAFETY = "public_safety", _("(2) Public safety or public health")
    CRIMINAL_JUSTICE = "criminal_justice", _("(3) Criminal investigation, prosecution or trial")
    VITAL_INTERESTS = "vital_interests", _("(4) Protecting material rights of you or others")
    SELF_DISCLOSED = "self_disclosed", _("(5) Disclosed to the public by yourself")
    PUBLIC_SOURCES = "public_sources", _("(6) Collected from lawfully public information")
    SERVICE_SECURITY = "service_security", _("(7) Secure and stable operation of the service")
    CONTRACT = "contract", _("(8) Performance of an agreement with you")
    LEGAL_REQUIREMENT = "legal_requirement", _("(9) Required by authorities or law")


class VerificationMethod(models.TextChoices):
    REAUTHENTICATION = "reauthentication", _("Signed in and re-authenticated")
    EMAIL_CODE = "email_code", _("Code sent to the account's e-mail")
    STAFF = "staff", _("Verified by staff")
    SYSTEM = "system", _("Started by the portal itself under the policy (no requester)")


class DataSubjectRequest(models.Model):
    """One request of any type, from receipt to closure. The database row is the truth."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=20, choices=RequestType.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.IDENTITY_UNVERIFIED, db_index=True
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_requests",
    )
    # A keyed hash of the subject: what remains of them after erasure (proof of compliance).
    subject_hash = models.CharField(max_length=64, blank=True, db_index=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="filed_data_requests",
    )
    # The address a signed-out requester gave; the account's address receives the code.
    contact_email = models.EmailField(blank=True)
    details = models.TextField(blank=True, max_length=DETAILS_MAX_LENGTH)
    scope = models.JSONField(default=dict, blank=True)
    jurisdiction = models.CharField(max_length=10, blank=True)

    received_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_method = models.CharField(
        max_length=20, choices=VerificationMethod.choices, blank=True
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    # Deletion only: the end of the cool-off, before which the requester can still cancel.
    act_after = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    warned_threshold_days = models.PositiveSmallIntegerField(null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)
    # The staff member working it ("my queue"); told in their inbox as its deadline nears.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_requests",
        limit_choices_to={"is_staff": True},
    )

    denial_reason = models.CharField(max_length=30, choices=DenialReason.choices, blank=True)
    legal_exemption = models.CharField(max_length=30, choices=LegalExemption.choices, blank=True)
    denial_note = models.TextField(blank=True)
    failure_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        permissions = [
            ("approve_request", "Can approve requests that need a privacy officer"),
            ("extend_request", "Can extend a request's deadline"),
            ("deny_request", "Can deny a request"),
        ]
        indexes = [models.Index(fields=["subject", "type", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="denied") | ~models.Q(denial_reason=""),
                name="dsar_denial_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(denial_reason="legal_exemption")
                | ~models.Q(legal_exemption=""),
                name="dsar_exemption_is_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk}"

    @property
    def reference(self) -> str:
        """The short reference shown to requesters and in e-mails."""
        return str(self.public_id)[:8]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < timezone.now()

    @property
    def days_left(self) -> int | None:
        if self.due_at is None or not self.is_open:
            return None
        reference = self.paused_at or timezone.now()
        return (self.due_at - reference).days


class RequestEvent(models.Model):
    """Every transition of a request: who, when, from, to, why."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=20, choices=Actor.choices)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        """As staff read it in the request's history: "Received", "Received → In progress",
        "Note" for a step that changed no status."""
        if not self.to_status:
            return "Note"
        to = self.get_to_status_display()
        return f"{self.get_from_status_display()} → {to}" if self.from_status else str(to)


class RequestMessage(models.Model):
    """A secure message between the requester and staff, shown on the request's page."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_staff = models.BooleanField(default=False)
    body = models.TextField(max_length=DETAILS_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Message #{self.pk}"


class RequestNote(models.Model):
    """A staff member's internal note on a request: for the team only, never shown to the
    requester (not on their page, in the API or in a copy of their data)."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(max_length=DETAILS_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Note #{self.pk}"


class VerificationCode(models.Model):
    """A time- and attempt-limited code e-mailed to verify a signed-out requester."""

    request = models.OneToOneField(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="verification_code"
    )
    code_hash = models.CharField(max_length=64)
    # The code itself, encrypted (core.crypto.seal), until it is e-mailed and used: the mail
    # task reads it here, so it never travels through the broker as a task argument.
    code_sealed = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"Code for request #{self.request_id}"


class ExportArchive(models.Model):
    """An encrypted export (copy, transfer, access) kept in Django's storage until it expires."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="archives"
    )
    storage_name = models.CharField(max_length=300)
    key_id = models.CharField(max_length=40)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)  # of the plaintext ZIP
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    download_count = models.PositiveIntegerField(default=0)
    pull_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    pull_token_expires_at = models.DateTimeField(null=True, blank=True)
    pulled_at = models.DateTimeField(null=True, blank=True)
    pulled_by = models.CharField(max_length=200, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Archive #{self.pk}"

    @property
    def is_expired(self) -> bool:
        return self.deleted_at is not None or self.expires_at <= timezone.now()


class ErasureRecord(models.Model):
    """De-identified proof that an erasure happened: no personal data, only what and how."""

    request = models.OneToOneField(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="erasure_record"
    )
    subject_hash = models.CharField(max_length=64)
    performed_at = models.DateTimeField(default=timezone.now)
    # [{"category", "model", "strategy", "rows", "fields": {name: anonymizer}, "legal_basis"}]
    summary = models.JSONField(default=list)
    # Each connected system's part, taken before the portal's own erasure runs:
    # [{"key", "system", "status", "counts": {category: rows}, "tables", "confirmation" (when it
    #   reads as a reference), "confirmation_sha256", "excepted_by", "excepted_at"}]
    systems = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Erasure for request #{self.request_id}"


class AppliedCorrection(models.Model):
    """A correction or supplement applied to the user's data: field, before and after."""

    request = models.ForeignKey(
        DataSubjectRequest, on_delete=models.CASCADE, related_name="corrections"
    )
    field = models.CharField(max_length=100)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    applied_at = models.DateTimeField(default=timezone.now)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.field} on request #{self.request_id}"


DEFAULT_ARCHIVE_LIFETIME = datetime.timedelta(days=7)
