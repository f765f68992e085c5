"""The end of the service, as the policy's "Storage of Information" promises it: users are told
in advance, collection stops on the announced date, and after it every user's personal data is
deleted or anonymized along the registry's strategies, except what a legal hold keeps.

- `termination_announce` records the date and tells everyone (a service notice).
- `collection_stopped()` is true from that date: sign-up is closed, the access log and the login
  history stop recording, and consent can no longer be given (withdrawing it still works, and so
  do data requests). It is called on every request, so it reads a cached date.
- `termination_report` is the dry run: per registry entry, how many rows execution would delete,
  anonymize or keep, and who is skipped under a legal hold. It stores the report and changes
  nothing else.
- `termination_execute` does it, from the end date, within a day of a report: entry by entry in
  bounded batches, each batch in one transaction with its progress, so a run stopped midway is
  resumed by running it again. One audit entry sums it up.
- `termination_cancel` withdraws an announcement (before any erasure) and tells those who heard it.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from consent.ledger import every_subject_changed
from core.audit import audit_staff_action
from core.registry import PersonalData, Strategy, registry
from core.walker import apply_strategy
from notices import services
from notices.models import Broadcast, Category
from requests_dsar.models import OPEN_STATUSES, DataSubjectRequest
from requests_dsar.services import dsar_transition
from requests_dsar.workflow import TransitionNotAllowed
from retention.models import LegalHold

from .models import ServiceTermination

logger = logging.getLogger(__name__)

CACHE_KEY = "notices:service-ends-on"  # the key as it was: a deployed cache keeps working
# Writes drop the cached date at once; this only bounds how long another process's local cache
# (development's) may lag behind a cancellation.
CACHE_SECONDS = 60
BATCH_SIZE = 500
REPORT_MAX_AGE = datetime.timedelta(hours=24)
EXECUTION = "execution"  # the key of execution progress in `last_report`


# --- Whether collection has stopped --------------------------------------------------------------


def _active() -> QuerySet[ServiceTermination]:
    return ServiceTermination.objects.filter(cancelled_at__isnull=True)


def service_ends_on() -> datetime.date | None:
    """The announced last day's date (collection stops on it), or None. Cached."""
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # a cache that is down must not take every page with it
        cached = None
    if cached is None:
        ends_on = _active().values_list("ends_on", flat=True).first()
        cached = ends_on.isoformat() if ends_on else ""
        try:
            cache.set(CACHE_KEY, cached, CACHE_SECONDS)
        except Exception:
            logger.warning("service end date could not be cached")
    return datetime.date.fromisoformat(cached) if cached else None


def collection_stopped() -> bool:
    """True from the announced end date on: no new personal data is collected."""
    ends_on = service_ends_on()
    return ends_on is not None and timezone.localdate() >= ends_on


def forget_cached_end(**kwargs: object) -> None:
    """Drop the cached date now and again after commit (a reader in between may have cached
    the old one). Connected to ServiceTermination's saves and deletions."""

    def forget() -> None:
        try:
            cache.delete(CACHE_KEY)
        except Exception:
            logger.warning("service end date could not be dropped from the cache")

    forget()
    transaction.on_commit(forget)


# --- Announcing and cancelling -------------------------------------------------------------------


def _day(value: datetime.date) -> str:
    return date_format(value, "j F Y")


def announcement_body(termination: ServiceTermination) -> str:
    day = _day(termination.ends_on)
    reason = f"\n\n{termination.reason.strip()}" if termination.reason.strip() else ""
    return (
        f"{settings.COMPANY_NAME} will end its service on {day}.{reason}\n\n"
        f"From {day} we stop collecting personal information: no new accounts, no activity "
        "log or sign-in history, and no new consent.\n\n"
        "After that day we delete or anonymize your personal information, unless a law requires "
        "us to keep part of it for a time (for example the record of your consent choices), as "
        "our privacy policy says under “Storage of Information”. It cannot be restored once "
        "deleted or anonymized.\n\n"
        "Until then you can download a copy of your information, or ask us to delete it "
        f"sooner, from your dashboard. Questions: write to {settings.COMPANY_CONTACT_EMAIL}."
    )


@transaction.atomic
def termination_announce(
    *, ends_on: datetime.date, reason: str = "", actor: User | None = None
) -> ServiceTermination:
    """Announce the end of the service on `ends_on` and tell every user. Refused for a date
    that is not after today (users are told in advance) and while another is announced."""
    if ends_on <= timezone.localdate():
        raise ValidationError(
            "The end date must be after today: users are told in advance of the end."
        )
    current = _active().select_for_update().first()
    if current is not None:
        raise ValidationError(
            f"The end of the service is already announced for {current.ends_on.isoformat()}: "
            "cancel that announcement first."
        )
    try:
        with transaction.atomic():
            termination = ServiceTermination.objects.create(
                ends_on=ends_on, reason=reason.strip(), announced_by=actor
            )
    except IntegrityError:
        raise ValidationError(
            "The end of the service was just announced by someone else."
        ) from None
    termination.broadcast = services.broadcast_create(
        source=f"termination:{termination.pk}",
        kind=Broadcast.Kind.TERMINATION,
        category=Category.SERVICE_NOTICES,
        title=f"{settings.COMPANY_NAME} ends its service on {_day(ends_on)}",
        body=announcement_body(termination),
        audience={"kind": "all"},
        created_by=actor,
    )
    termination.save(update_fields=["broadcast"])
    audit_staff_action(
        action="notices.termination_announced",
        actor=actor,
        target=termination,
        data={"ends_on": ends_on.isoformat(), "broadcast": termination.broadcast.pk},
    )
    return termination


def active_termination() -> ServiceTermination | None:
    return _active().select_related("broadcast").first()


def _erasure_started(termination: ServiceTermination) -> bool:
    return termination.executed_at is not None or bool(termination.last_report.get(EXECUTION))


@transaction.atomic
def termination_cancel(*, actor: User | None = None) -> ServiceTermination:
    """Withdraw the announcement; those who were told hear that the service goes on."""
    termination = _active().select_for_update().first()
    if termination is None:
        raise ValidationError("No end of the service is announced: there is nothing to cancel.")
    if _erasure_started(termination):
        raise ValidationError(
            "The personal data is already being (or has been) erased: the end of the service "
            "cannot be cancelled any more."
        )
    announcement = termination.broadcast
    if announcement is not None and announcement.state != Broadcast.State.DONE:
        raise ValidationError(
            "The announcement is still being sent: cancel once it has reached everyone, so that "
            "everyone told also hears that the service continues."
        )
    termination.cancelled_at = timezone.now()
    termination.save(update_fields=["cancelled_at"])
    if announcement is not None:
        services.broadcast_create(
            source=f"termination-cancelled:{termination.pk}",
            kind=Broadcast.Kind.SERVICE,
            category=Category.SERVICE_NOTICES,
            title=f"{settings.COMPANY_NAME} continues its service",
            body=(
                f"Our notice that the service would end on {_day(termination.ends_on)} is "
                "withdrawn: the service continues, and your information stays as it is, "
                "protected by our privacy policy. "
                f"Questions: write to {settings.COMPANY_CONTACT_EMAIL}."
            ),
            audience={"kind": "broadcast", "id": announcement.pk},
            created_by=actor,
        )
    audit_staff_action(action="notices.termination_cancelled", actor=actor, target=termination)
    return termination


# --- What is kept: legal holds -------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """Users and requests under an active legal hold: their rows are not touched."""

    users: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)


def held_now() -> Held:
    holds = LegalHold.objects.active()
    return Held(
        users=sorted(set(holds.filter(user__isnull=False).values_list("user_id", flat=True))),
        requests=sorted(
            set(holds.filter(request__isnull=False).values_list("request_id", flat=True))
        ),
    )


def plan() -> list[PersonalData]:
    """Every registry entry, in the registry's order, with the user row last (as an erasure)."""
    user_label = settings.AUTH_USER_MODEL.lower()
    return sorted(registry, key=lambda entry: entry.model_label.lower() == user_label)


def targets(entry: PersonalData, held: Held) -> QuerySet[Any]:
    """All rows of the entry's model except those of held users and held requests."""
    keep = Q(pk__in=[])
    if held.users:
        if entry.rows is not None:
            for user in User.objects.filter(pk__in=held.users):
                keep |= Q(pk__in=entry.rows(user).values("pk"))
        elif entry.user_path == "pk":
            keep |= Q(pk__in=held.users)
        else:
            keep |= Q(**{f"{entry.user_path}__in": held.users})
    if held.requests:
        if entry.model is DataSubjectRequest:
            keep |= Q(pk__in=held.requests)
        elif entry.user_path.startswith("request__"):
            keep |= Q(request__in=held.requests)
    return entry.model._default_manager.exclude(keep)


# --- The dry run ---------------------------------------------------------------------------------


def _require_active() -> ServiceTermination:
    termination = _active().select_for_update().first()
    if termination is None:
        raise ValidationError("No end of the service is announced: announce it first.")
    return termination


@transaction.atomic
def termination_report() -> ServiceTermination:
    """What execution would do, per registry entry; stored in `last_report`. Nothing else
    changes (a report is not audited: it touches no personal data)."""
    termination = _require_active()
    held = held_now()
    lines = [
        {
            "model": entry.model_label,
            "category": entry.category,
            "label": entry.label,
            "strategy": str(entry.strategy),
            "rows": targets(entry, held).count(),
        }
        for entry in plan()
    ]
    now = timezone.now()
    report: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "ends_on": termination.ends_on.isoformat(),
        "entries": lines,
        "held_users": held.users,
        "held_requests": held.requests,
    }
    if termination.last_report.get(EXECUTION):
        report[EXECUTION] = termination.last_report[EXECUTION]
    termination.last_report = report
    termination.last_report_at = now
    termination.save(update_fields=["last_report", "last_report_at"])
    return termination


# --- Execution -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    termination: ServiceTermination
    rows: dict[str, int]  # model label -> rows deleted, anonymized or kept
    held: Held
    already_done: bool = False


def execution_problem(termination: ServiceTermination | None, *, confirm: bool) -> str:
    """Why execution is refused now, or ""."""
    if termination is None:
        return "No end of the service is announced: there is nothing to execute."
    if termination.executed_at is not None:
        return ""
    if timezone.localdate() < termination.ends_on:
        return (
            f"The service ends on {termination.ends_on.isoformat()}: personal data can be "
            "erased from that day, not before."
        )
    reported = termination.last_report_at
    if reported is None or timezone.now() - reported > REPORT_MAX_AGE:
        return (
            "Run the dry run first (`terminate_service report`) and read it: execution needs a "
            "report from the last 24 hours."
        )
    if not confirm:
        return (
            "Add --confirm: this deletes or anonymizes the personal data of every user not under "
            "a legal hold, and cannot be undone."
        )
    return ""


def _progress(termination_id: int) -> dict[str, Any]:
    report = ServiceTermination.objects.values_list("last_report", flat=True).get(pk=termination_id)
    return dict(report.get(EXECUTION) or {})


def _record_progress(
    termination_id: int, label: str, *, rows: int, last_pk: Any = None, done: bool = False
) -> None:
    """Add a batch's rows to the entry's progress; call inside the batch's transaction."""
    termination = ServiceTermination.objects.select_for_update().get(pk=termination_id)
    report = dict(termination.last_report)
    execution = dict(report.get(EXECUTION) or {})
    line = dict(execution.get(label) or {"rows": 0})
    line["rows"] += rows
    if last_pk is not None:
        line["last_pk"] = last_pk
    if done:
        line["done"] = True
    execution[label] = line
    report[EXECUTION] = execution
    termination.last_report = report
    termination.save(update_fields=["last_report"])


def _close_open_requests(held: Held) -> None:
    """Open requests cannot be fulfilled once everything is erased: they are closed first (their
    history is anonymized with the rest)."""
    open_requests = (
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES)
        .exclude(pk__in=held.requests)
        .exclude(subject_id__in=held.users)
    )
    for request in open_requests.iterator(chunk_size=BATCH_SIZE):
        try:
            dsar_transition(
                request=request,
                to="cancelled",
                actor=None,
                reason="The service ended; personal data was deleted or anonymized.",
                notify=False,
            )
        except TransitionNotAllowed:
            continue


def _execute_entry(termination_id: int, entry: PersonalData, held: Held, batch_size: int) -> None:
    label = entry.model_label
    progress = _progress(termination_id).get(label) or {}
    if progress.get("done"):
        return
    rows = targets(entry, held)
    manager = entry.model._default_manager
    if entry.strategy is Strategy.RETAIN:
        with transaction.atomic():
            _record_progress(termination_id, label, rows=rows.count(), done=True)
        return
    last_pk = progress.get("last_pk")
    while True:
        # Deleted rows leave the query; anonymized rows stay, so those go by key order.
        todo = (
            rows
            if entry.strategy is Strategy.DELETE or last_pk is None
            else rows.filter(pk__gt=last_pk)
        )
        batch = list(todo.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            break
        with transaction.atomic():
            done = apply_strategy(entry, manager.filter(pk__in=batch))
            last_pk = batch[-1] if entry.strategy is Strategy.ANONYMIZE else None
            _record_progress(termination_id, label, rows=done, last_pk=last_pk)
    with transaction.atomic():
        _record_progress(termination_id, label, rows=0, done=True)


def termination_execute(
    *, confirm: bool, actor: User | None = None, batch_size: int = BATCH_SIZE
) -> Execution:
    """Delete or anonymize every registry entry's rows along its strategy, for every user but
    those under a legal hold; RETAIN entries are kept. Safe to run again: finished entries are
    skipped, a stopped one resumes, and a finished execution does nothing."""
    termination = active_termination()
    problem = execution_problem(termination, confirm=confirm)
    if problem:
        raise ValidationError(problem)
    assert termination is not None
    held = held_now()
    if termination.executed_at is not None:
        rows = {k: v["rows"] for k, v in _progress(termination.pk).items()}
        return Execution(termination, rows, held, already_done=True)
    # Nobody signs in (and leaves new rows behind) while the walk runs.
    User.objects.exclude(pk__in=held.users).filter(is_active=True).update(is_active=False)
    every_subject_changed()  # the check API answers "closed" for all of them at once
    _close_open_requests(held)
    for entry in plan():
        _execute_entry(termination.pk, entry, held, batch_size)
    return _finish(termination.pk, held, actor)


@transaction.atomic
def _finish(termination_id: int, held: Held, actor: User | None) -> Execution:
    termination = ServiceTermination.objects.select_for_update().get(pk=termination_id)
    progress = dict(termination.last_report.get(EXECUTION) or {})
    rows = {label: line["rows"] for label, line in progress.items()}
    if termination.executed_at is not None:
        return Execution(termination, rows, held, already_done=True)
    termination.executed_at = timezone.now()
    termination.save(update_fields=["executed_at"])
    strategies = {entry.model_label: str(entry.strategy) for entry in registry}
    by_strategy = {str(s): 0 for s in Strategy}
    for label, count in rows.items():
        by_strategy[strategies.get(label, "delete")] += count
    audit_staff_action(
        action="notices.termination_executed",
        actor=actor,
        target=termination,
        data={
            "rows": by_strategy,
            "models": rows,
            "held_users": len(held.users),
            "held_requests": len(held.requests),
        },
    )
    logger.info("service termination %s executed: rows by strategy %s", termination.pk, by_strategy)
    return Execution(termination, rows, held)
