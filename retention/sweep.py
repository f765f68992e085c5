"""The retention sweep: what outlived its period goes, except what a legal hold keeps.

The rules come from every app's `personal_data.py` (`core.retention.register_rule`). The period
of a category is settings.DSAR_RETENTION_DAYS unless staff have overridden it in admin
(RetentionOverride, with a reason).

The sweep walks every rule in bounded batches: it finds the primary key that closes a batch of
eligible rows, then deletes or updates that key range in a short transaction whose statement
checks expiry and holds again, so a hold placed mid-sweep still protects and no statement holds
long locks (bench/retention_sweep.py measures it). It is safe to run twice, even at once, and
again after a crash: what is gone stays gone and anonymized rows no longer match. Every sweep
writes one `retention.swept` audit entry with its counts.

Nothing here logs or records a personal value: only category keys, ids and counts.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_append
from core.models import Actor
from core.retention import Action, RetentionRule, Target, rules

from .models import LegalHold, RetentionOverride

logger = logging.getLogger(__name__)

SWEPT = "retention.swept"


# --- Periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    days: int
    configured_days: int  # what the settings say (the rule's default if they are silent)
    override: RetentionOverride | None = None

    @property
    def overridden(self) -> bool:
        return self.override is not None


def overrides_in_force() -> dict[str, RetentionOverride]:
    """Category -> the admin override in force for it."""
    return {o.category: o for o in RetentionOverride.objects.select_related("set_by")}


def period_for(
    rule: RetentionRule, overrides: Mapping[str, RetentionOverride] | None = None
) -> Period:
    """The period in force: the admin override if there is one, else the settings."""
    configured = int(settings.DSAR_RETENTION_DAYS.get(rule.key, rule.default_days))
    override = (overrides_in_force() if overrides is None else overrides).get(rule.key)
    return Period(
        days=override.days if override is not None else configured,
        configured_days=configured,
        override=override,
    )


# --- Which rows: expired, held, eligible ---------------------------------------------------------


def _held(target: Target, now: datetime.datetime) -> Q | None:
    holds = LegalHold.objects.active(now)
    condition = Q()
    for path in target.held_by_user:
        condition |= Q(**{f"{path}__in": holds.filter(user__isnull=False).values("user_id")})
    for path in target.held_by_request:
        condition |= Q(**{f"{path}__in": holds.filter(request__isnull=False).values("request_id")})
    return condition or None


def held_rows(
    target: Target, cutoff: datetime.datetime, now: datetime.datetime
) -> models.QuerySet[Any]:
    """Expired rows an active legal hold keeps."""
    held = _held(target, now)
    rows = target.expired(cutoff)
    return rows.filter(held) if held is not None else rows.none()


def eligible_rows(
    target: Target, cutoff: datetime.datetime, now: datetime.datetime
) -> models.QuerySet[Any]:
    """Expired rows no active legal hold keeps: what the sweep removes."""
    held = _held(target, now)
    rows = target.expired(cutoff)
    return rows.exclude(held) if held is not None else rows


# --- The report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    rule: RetentionRule
    period: Period
    cutoff: datetime.datetime
    due: int  # rows the next sweep would remove
    held: int  # expired rows a legal hold keeps


def retention_report(*, now: datetime.datetime | None = None) -> list[ReportLine]:
    """Per category: the period in force, the cutoff, what the next sweep would remove and
    what legal holds keep. Reads only."""
    now = now or timezone.now()
    overrides = overrides_in_force()
    lines = []
    for rule in rules():
        period = period_for(rule, overrides)
        cutoff = now - datetime.timedelta(days=period.days)
        lines.append(
            ReportLine(
                rule=rule,
                period=period,
                cutoff=cutoff,
                due=sum(eligible_rows(t, cutoff, now).count() for t in rule.targets),
                held=sum(held_rows(t, cutoff, now).count() for t in rule.targets),
            )
        )
    return lines


# --- The sweep -----------------------------------------------------------------------------------


@dataclass
class CategoryResult:
    days: int
    cutoff: datetime.datetime
    removed: int = 0
    held: int = 0


@dataclass
class SweepResult:
    categories: dict[str, CategoryResult] = field(default_factory=dict)
    # False when the time budget ran out first: the next sweep carries on where this one stopped.
    complete: bool = True

    @property
    def removed(self) -> dict[str, int]:
        return {key: line.removed for key, line in self.categories.items()}

    @property
    def held(self) -> dict[str, int]:
        return {key: line.held for key, line in self.categories.items()}


def _remove_batch(target: Target, batch: models.QuerySet[Any]) -> int:
    if target.remove is not None:
        return target.remove(batch)
    if target.action is Action.ANONYMIZE:
        return batch.update(**target.anonymize)
    _total, per_model = batch.delete()
    return per_model.get(target.model._meta.label, 0)


def _sweep_target(
    target: Target,
    *,
    cutoff: datetime.datetime,
    now: datetime.datetime,
    batch_size: int,
    deadline: float | None,
) -> tuple[int, bool]:
    """Remove the target's eligible rows batch by batch. Returns (rows removed, finished).

    A batch is a range of primary keys holding `batch_size` eligible rows: one small read finds
    where it ends, one statement removes it. Walking the keys upwards reads each row once, and a
    row a custom removal leaves behind is not read again.
    """
    removed = 0
    last_pk: Any = None
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return removed, False
        rest = eligible_rows(target, cutoff, now)
        if last_pk is not None:
            rest = rest.filter(pk__gt=last_pk)
        ordered = rest.order_by("pk").values_list("pk", flat=True)
        upper = ordered[batch_size - 1 : batch_size].first()
        last_batch = upper is None
        if last_batch:
            upper = ordered.last()  # fewer than a batch left
            if upper is None:
                return removed, True
        batch = rest.filter(pk__lte=upper)
        if target.before_remove is not None:
            # Holds are checked again now, just before any file goes; then exactly these rows
            # lose their files, and only these can be removed (a hold released meanwhile must
            # not let a row go whose files were kept).
            chosen = list(batch.values_list("pk", flat=True))
            if chosen:
                target.before_remove(target.model._default_manager.filter(pk__in=chosen))
            batch = eligible_rows(target, cutoff, now).filter(pk__in=chosen)
        with transaction.atomic():
            # Expiry and holds are checked again by the statement that removes the rows.
            removed += _remove_batch(target, batch)
        if last_batch:
            return removed, True
        last_pk = upper


def retention_sweep(
    *,
    now: datetime.datetime | None = None,
    categories: Collection[str] | None = None,
    batch_size: int | None = None,
    time_budget: float | None = None,
    actor: Any = None,
) -> SweepResult:
    """Delete or anonymize what has outlived its retention period, skipping legal holds.

    `categories` limits the sweep to some rules; `batch_size` overrides each table's batch;
    `time_budget` (seconds) stops it from starting a new batch after that long (the result and
    the audit entry then say it is incomplete). `actor` is the staff member who ran it by hand.
    """
    now = now or timezone.now()
    deadline = time.monotonic() + time_budget if time_budget else None
    overrides = overrides_in_force()
    result = SweepResult()
    for rule in rules():
        if categories is not None and rule.key not in categories:
            continue
        period = period_for(rule, overrides)
        cutoff = now - datetime.timedelta(days=period.days)
        line = result.categories[rule.key] = CategoryResult(days=period.days, cutoff=cutoff)
        for target in rule.targets:
            line.held += held_rows(target, cutoff, now).count()
            removed, finished = _sweep_target(
                target,
                cutoff=cutoff,
                now=now,
                batch_size=batch_size or target.batch_size,
                deadline=deadline,
            )
            line.removed += removed
            if not finished:
                result.complete = False
                break
        if not result.complete:
            break
    audit_append(
        action=SWEPT,
        actor_user_id=actor.pk if actor is not None else None,
        actor_role=Actor.STAFF if actor is not None else Actor.SYSTEM,
        target_type="retention",
        data={
            "removed": result.removed,
            "held": result.held,
            "days": {key: line.days for key, line in result.categories.items()},
            "complete": result.complete,
        },
    )
    logger.info(
        "retention sweep: %d rows removed, %d held back%s",
        sum(result.removed.values()),
        sum(result.held.values()),
        "" if result.complete else " (time budget reached; the next sweep continues)",
    )
    return result
