"""Relatives of a deceased user: their cases and proof documents.

The tables keep the names they had when the cases lived in requests_dsar.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_dsar.models import DataSubjectRequest


class Relationship(models.TextChoices):
    SPOUSE = "spouse", _("Spouse or partner")
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")
    SIBLING = "sibling", _("Brother or sister")
    OTHER = "other", _("Another close relative")


class RelativeAsk(models.TextChoices):
    COPY = "copy", _("A copy of their data")
    DELETE = "delete", _("Deletion of their account and data")


class RelativeCase(models.Model):
    """A close relative's claim to act for a deceased user, with the proof they uploaded.

    Filed signed out; the relative's own address is verified with a code. Once it is, the case
    is linked to a data-subject request (`request`), which carries its deadline and status.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relative_name = models.CharField(max_length=150)
    relative_email = models.EmailField()
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    relationship_other = models.CharField(max_length=100, blank=True)
    # The address as the relative typed it; `deceased` is the account using it, if any.
    deceased_email = models.EmailField(blank=True)
    deceased = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="relative_cases",
    )
    asked = models.CharField(max_length=10, choices=RelativeAsk.choices)
    created_at = models.DateTimeField(default=timezone.now)

    code_hash = models.CharField(max_length=64, blank=True)
    # The code itself, encrypted, for the mail task to read (never a task argument).
    code_sealed = models.TextField(blank=True, default="")
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    request = models.OneToOneField(
        DataSubjectRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="relative_case",
    )

    # The decision: the deceased's own arrangement as it stood then, and what was done.
    arrangement = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=10, choices=RelativeAsk.choices, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    copy_link_sent_at = models.DateTimeField(null=True, blank=True)
    # "A copy, then delete": the deletion filed once the copy's link has expired.
    erasure_request = models.OneToOneField(
        DataSubjectRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="relative_erasure_case",
    )

    class Meta:
        db_table = "requests_dsar_relativecase"
        ordering = ["-created_at"]
        verbose_name = "relative's case"
        verbose_name_plural = "relatives' cases"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(relationship="other") | ~models.Q(relationship_other=""),
                name="relative_case_other_is_named",
            ),
            models.CheckConstraint(
                condition=models.Q(verified_at__isnull=True) | models.Q(request__isnull=False),
                name="relative_case_verified_has_request",
            ),
        ]

    def __str__(self) -> str:
        return f"Relative's case {self.reference}"

    @property
    def reference(self) -> str:
        return str(self.public_id)[:8]


class RelativeDocument(models.Model):
    """One proof document of a relative's case, encrypted at rest (core.uploads)."""

    class Kind(models.TextChoices):
        DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
        RELATIONSHIP_PROOF = "relationship_proof", _("Proof of relationship")

    case = models.ForeignKey(RelativeCase, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    storage_name = models.CharField(max_length=300)
    key_id = models.CharField(max_length=40)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "requests_dsar_relativedocument"
        ordering = ["case", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
