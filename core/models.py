"""The ground floor's records: the audit log and its chain head.

The tables keep the names they had when the audit log lived in requests_dsar (its rows and its
PostgreSQL append-only trigger stay as they were).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .append_only import AppendOnlyModel

# Ids beyond the database's integer range cannot exist: looking one up would be an error there,
# so a lookup past it answers "not found" without asking.
MAX_ID = 2**63 - 1


class Actor(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    STAFF = "staff", _("Staff")
    SYSTEM = "system", _("System")


class AuditLogEntry(AppendOnlyModel):
    """Append-only and hash-chained: each entry's hash covers its content and the previous hash.

    It carries ids and status names, never personal data, so it survives every erasure.
    """

    at = models.DateTimeField(default=timezone.now)
    # A plain id, not a foreign key: nothing done to a user row may ever rewrite the log.
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=20, choices=Actor.choices)
    action = models.CharField(max_length=60, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    append_only_name = "The audit log"

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "audit log entries"
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="requests_ds_target__940606_idx")
        ]
        db_table = "requests_dsar_auditlogentry"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action}"


class AuditChainHead(models.Model):
    """One row: the last hash, locked while appending so the chain never forks."""

    last_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "requests_dsar_auditchainhead"

    def __str__(self) -> str:
        return "Audit chain head"


GENESIS_HASH = "0" * 64
