"""Legal holds and staff's retention overrides.

The tables keep the names they had when retention lived in requests_dsar.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.retention import CATEGORY_MAX_LENGTH
from requests_dsar.models import DataSubjectRequest


class LegalHoldQuerySet(models.QuerySet["LegalHold"]):
    def active(self, now: datetime.datetime | None = None) -> LegalHoldQuerySet:
        """Holds in force: not released and not past their expiry."""
        moment = now or timezone.now()
        return self.filter(released_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=moment)
        )


class LegalHold(models.Model):
    """Keeps a user's data, or one request's evidence, from retention sweeps and erasure while
    a legal claim or an authority's order needs it. Exactly one of `user` and `request`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_holds",
    )
    request = models.ForeignKey(
        DataSubjectRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_holds",
    )
    reason = models.TextField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # No expiry: until released by hand.
    expires_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        db_table = "requests_dsar_legalhold"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(request__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(request__isnull=False)),
                name="legal_hold_one_target",
            )
        ]

    def __str__(self) -> str:
        target = f"user #{self.user_id}" if self.user_id else f"request #{self.request_id}"
        return f"Legal hold on {target}"


class RetentionOverride(models.Model):
    """A staff-set retention period for one category, replacing the setting's default."""

    category = models.CharField(max_length=CATEGORY_MAX_LENGTH, unique=True)
    days = models.PositiveIntegerField()
    reason = models.TextField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "requests_dsar_retentionoverride"
        ordering = ["category"]

    def __str__(self) -> str:
        return f"{self.category}: {self.days} days"
