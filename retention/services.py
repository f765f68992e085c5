"""Staff writes about retention, each audited: legal holds and per-category overrides."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import audit_append
from core.models import Actor
from core.retention import MAX_DAYS, get_rule, rules
from requests_dsar.models import DataSubjectRequest

from .models import LegalHold, RetentionOverride

# --- Legal holds and overrides (staff writes, audited) --------------------------------------------

HOLD_REASON_MISSING = "Say why the data must be kept (the claim, order or investigation)."
OVERRIDE_REASON_MISSING = "Say why this category is kept for a different period."
DAYS_OUT_OF_RANGE = f"The period is a whole number of days from 1 to {MAX_DAYS}."


def validate_hold(
    *,
    user: Any,
    request: DataSubjectRequest | None,
    reason: str,
    expires_at: datetime.datetime | None,
) -> None:
    errors: dict[str, str] = {}
    if (user is None) == (request is None):
        errors["user"] = "Choose either a user or a request for the hold, not both and not neither."
    if not reason.strip():
        errors["reason"] = HOLD_REASON_MISSING
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = "The expiry must be in the future (leave it empty: until released)."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def legal_hold_set(
    *,
    actor: Any,
    reason: str,
    user: Any = None,
    request: DataSubjectRequest | None = None,
    expires_at: datetime.datetime | None = None,
) -> LegalHold:
    """Place a legal hold on a user's data or on one request's evidence."""
    validate_hold(user=user, request=request, reason=reason, expires_at=expires_at)
    hold = LegalHold.objects.create(
        user=user, request=request, reason=reason.strip(), expires_at=expires_at, set_by=actor
    )
    audit_append(
        action="retention.hold_set",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="legal_hold",
        target_id=hold.pk,
        data={"user_id": hold.user_id, "request_id": hold.request_id, "expires_at": expires_at},
    )
    return hold


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, actor: Any) -> bool:
    """Release a hold now. False if it was already released (by someone else, meanwhile)."""
    now = timezone.now()
    released = LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=now, released_by=actor
    )
    if not released:
        return False
    hold.released_at, hold.released_by = now, actor
    audit_append(
        action="retention.hold_released",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="legal_hold",
        target_id=hold.pk,
        data={"user_id": hold.user_id, "request_id": hold.request_id},
    )
    return True


def validate_override(*, category: str, days: int | None, reason: str) -> None:
    errors: dict[str, str] = {}
    if get_rule(category) is None:
        known = ", ".join(r.key for r in rules())
        errors["category"] = f"Unknown retention category. Known categories: {known}."
    if days is None or not 1 <= days <= MAX_DAYS:
        errors["days"] = DAYS_OUT_OF_RANGE
    if not reason.strip():
        errors["reason"] = OVERRIDE_REASON_MISSING
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def retention_override_set(
    *, category: str, days: int, reason: str, actor: Any
) -> RetentionOverride:
    """Set (or change) the retention period of one category, replacing the settings'."""
    validate_override(category=category, days=days, reason=reason)
    previous = RetentionOverride.objects.select_for_update().filter(category=category).first()
    override, _created = RetentionOverride.objects.update_or_create(
        category=category, defaults={"days": days, "reason": reason.strip(), "set_by": actor}
    )
    audit_append(
        action="retention.override_set",
        actor_user_id=actor.pk,
        actor_role=Actor.STAFF,
        target_type="retention_override",
        target_id=category,
        data={"days": days, "previous_days": previous.days if previous else None},
    )
    return override


@transaction.atomic
def retention_override_clear(*, category: str, actor: Any) -> bool:
    """Go back to the settings' period for a category. False if it had no override."""
    deleted, _ = RetentionOverride.objects.filter(category=category).delete()
    if deleted:
        audit_append(
            action="retention.override_cleared",
            actor_user_id=actor.pk,
            actor_role=Actor.STAFF,
            target_type="retention_override",
            target_id=category,
        )
    return bool(deleted)
