"""Minors, their guardians, and the guardians' documents.

The models came from accounts (guardianship 0001): they keep their tables (`db_table`) and rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class MinorAccount(models.Model):
    """A user below the age at which their region lets them consent alone, and where the
    guardian's approval stands. Ends (status `ended`) when they reach that age."""

    class Status(models.TextChoices):
        AWAITING_GUARDIAN = "awaiting_guardian", _("Waiting for a guardian's approval")
        ACTIVE = "active", _("Approved by a guardian")
        SUSPENDED = "suspended", _("Suspended (no guardian approval in force)")
        ERASING = "erasing", _("Being erased (declined or no decision)")
        ENDED = "ended", _("Guardianship ended (came of age)")

    class Reason(models.TextChoices):
        SIGNUP = "signup", _("Date of birth given at sign-up")
        PROFILE = "profile", _("Date of birth changed in the profile")
        STAFF = "staff", _("Staff found a minor without guardian consent")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="minor_account")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_GUARDIAN, db_index=True
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    # The region and threshold that made them a minor (the table may change later).
    region = models.CharField(max_length=8, blank=True)
    age_threshold = models.PositiveSmallIntegerField()
    # The day they reach the threshold: the daily sweep ends the guardianship then.
    adult_on = models.DateField(db_index=True)
    # Without a guardian's approval by then, the account is erased.
    decide_by = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The recorded `delete` request (actor system) that erases a declined or expired account.
    erasure_request = models.ForeignKey(
        "requests_dsar.DataSubjectRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "accounts_minoraccount"

    def __str__(self) -> str:
        return f"Minor account of user #{self.user_id}"

    @property
    def needs_guardian(self) -> bool:
        return self.status in {self.Status.AWAITING_GUARDIAN, self.Status.SUSPENDED}


class Guardianship(models.Model):
    """A guardian's invitation, verification and approval for one minor.

    At most one guardianship per minor is live (invited, being verified or approved)."""

    class Status(models.TextChoices):
        INVITED = "invited", _("Invitation sent")
        CONFIRMING = "confirming", _("Waiting for the second confirmation")
        IN_REVIEW = "in_review", _("Document waiting for staff review")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        REVOKED = "revoked", _("Approval revoked")
        EXPIRED = "expired", _("No decision in time")
        ENDED = "ended", _("Ended (the minor came of age)")

    class Method(models.TextChoices):
        EMAIL_PLUS = "email_plus", _("E-mail plus a delayed second confirmation")
        DOCUMENT = "document", _("Signed consent form or ID document reviewed by staff")
        PROVIDER = "provider", _("Verification provider (card transaction or ID check)")

    LIVE_STATUSES = ("invited", "confirming", "in_review", "approved")

    minor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="guardianships_as_minor")
    guardian = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="guardianships"
    )
    # Where the invitation went (what the minor typed).
    guardian_email = models.EmailField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.INVITED, db_index=True
    )
    verification_method = models.CharField(max_length=12, choices=Method.choices, blank=True)
    # A provider's own reference for its check (no card number or ID number is ever stored).
    provider_reference = models.CharField(max_length=100, blank=True)
    # Makes each invitation link single-use: a new invitation gets a new nonce.
    invitation_nonce = models.CharField(max_length=43)
    invited_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    first_confirmed_at = models.DateTimeField(null=True, blank=True)
    second_confirmation_after = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        db_table = "accounts_guardianship"
        ordering = ["-invited_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["minor"],
                condition=models.Q(status__in=["invited", "confirming", "in_review", "approved"]),
                name="one_live_guardianship_per_minor",
            ),
            models.CheckConstraint(
                condition=~models.Q(guardian=models.F("minor")),
                name="guardian_is_not_the_minor",
            ),
        ]

    def __str__(self) -> str:
        return f"Guardianship #{self.pk}"


class GuardianDocument(models.Model):
    """A guardian's uploaded consent form or ID, encrypted at rest, deleted after review."""

    guardianship = models.ForeignKey(
        Guardianship, on_delete=models.CASCADE, related_name="documents"
    )
    storage_name = models.CharField(max_length=300)
    key_id = models.CharField(max_length=40)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted = models.BooleanField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_guardiandocument"
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"Guardian document #{self.pk}"
