"""The erasure engine for `delete` requests: walk the registry, apply each entry's strategy.

What one run does, in this order:

1. The confirmation e-mail goes to the subject's current address, which is about to be erased.
   A marker in the request's scope, written after sending, keeps a re-run from sending it again;
   a worker that dies between the two sends it once more (a duplicate beats silence).
2. Every registry entry in scope, in the registry's `order`, each in its own transaction together
   with its line of the ErasureRecord. A worker killed midway leaves each entry either done and
   recorded or untouched; the sweep queues the request again and a re-run finishes the rest.
   Re-running finished entries is harmless: deleted rows are gone, anonymized rows get
   anonymized values again, and the record's counts stay exact.
   The account is locked (inactive) before the walk, so nobody signs in meanwhile.
3. The user row last (registry entry `accounts.User`): once it is anonymized, nothing of it is left
   to sign in with.
4. One `dsar.erased` audit entry, however many runs it took.

Nothing here logs, records or raises a personal value: only ids, model labels, counts and the
type of an error (database error messages quote the row's values).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from consent.selectors import facts_changed
from core.audit import audit_append
from core.models import Actor, AuditLogEntry
from core.registry import PersonalData, Strategy, registry
from core.walker import apply_strategy
from requests_dsar.models import OPEN_STATUSES, DataSubjectRequest, ErasureRecord, Status

from . import notifications, representatives, systems

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
AUDIT_ACTION = "dsar.erased"
# Keys the engine writes into the request's own scope (which the erasure keeps: it is what
# defines the erasure, and holds no personal data).
CONFIRMATION_SENT = "erasure_confirmation_sent_at"


class ErasureError(RuntimeError):
    """An erasure step failed. Says which step and the error's type, never a value."""


def _chosen_categories(request: DataSubjectRequest) -> set[str] | None:
    categories = request.scope.get("categories")
    return {str(c) for c in categories} if categories else None


def _is_user_model(entry: PersonalData) -> bool:
    return entry.model_label.lower() == settings.AUTH_USER_MODEL.lower()


def erasure_plan(request: DataSubjectRequest) -> list[PersonalData]:
    """The registry entries a deletion walks, in order, with the user row last.

    The whole account when the scope names no categories; otherwise only the chosen categories,
    and never the user row itself (the account stays).
    """
    chosen = _chosen_categories(request)
    entries = [entry for entry in registry if chosen is None or entry.category in chosen]
    if chosen is not None:
        entries = [entry for entry in entries if not _is_user_model(entry)]
    # A stable sort: the registry's order stays, except that the user row comes last whatever
    # order it was declared with.
    return sorted(entries, key=_is_user_model)


def _rows(entry: PersonalData, request: DataSubjectRequest) -> models.QuerySet[Any]:
    if request.subject is None:
        return entry.model._default_manager.none()
    rows = entry.rows_for(request.subject)
    if entry.model is DataSubjectRequest:
        # The request being fulfilled is handled on its own (`_clear_own_free_text`).
        rows = rows.exclude(pk=request.pk)
    return rows


def retained_categories(request: DataSubjectRequest) -> list[PersonalData]:
    """Registry entries a deletion keeps (Strategy.RETAIN) that hold rows of the subject.

    A deletion that would keep such rows needs a privacy officer's approval
    (services._needs_approval); one that finds nothing to retain does not.
    """
    return [
        entry
        for entry in erasure_plan(request)
        if entry.strategy is Strategy.RETAIN and _rows(entry, request).exists()
    ]


def fulfil_erasure(request: DataSubjectRequest) -> None:
    """Carry out a `delete` request. Safe to run again after a crash at any point.

    The request row stays, as de-identified proof: its subject (now an anonymized row), type,
    status history, scope and subject_hash remain; its details and contact address are emptied.
    """
    plan = erasure_plan(request)
    _record_systems(request)
    _send_confirmation_once(request)
    if _chosen_categories(request) is None and request.subject_id is not None:
        # Lock the account first: nobody can sign in (and leave new rows behind) while the
        # walk runs. The row itself is emptied last.
        User.objects.filter(pk=request.subject_id).update(is_active=False)

        facts_changed(request.subject_id)
        # Its other open requests close first, so their history is erased with the rest.
        _close_other_requests(request)
    for entry in plan:
        _erase_entry(request, entry)
    _finish(request)


def _close_other_requests(request: DataSubjectRequest) -> None:
    """The account is gone: its other open requests are closed rather than left in the queue."""
    from .services import dsar_transition
    from .workflow import TransitionNotAllowed

    others = DataSubjectRequest.objects.filter(
        subject_id=request.subject_id, status__in=OPEN_STATUSES
    ).exclude(pk=request.pk)
    for other in others:
        try:
            dsar_transition(
                request=other,
                to=Status.CANCELLED,
                actor=None,
                reason="The account was erased.",
                notify=False,
            )
        except TransitionNotAllowed:
            continue


# --- Steps -------------------------------------------------------------------------------------


def retained_summary(request: DataSubjectRequest) -> list[tuple[str, str]]:
    """What the erasure keeps, as the confirmation names it: (category, legal basis), sorted."""
    return sorted(
        {
            (entry.label, entry.retention.legal_basis)
            for entry in retained_categories(request)
            if entry.retention is not None
        }
    )


def confirmation_sent(request: DataSubjectRequest) -> bool:
    """Whether the erasure's confirmation went out (the engine's, or a caller's own words)."""
    scope = DataSubjectRequest.objects.values_list("scope", flat=True).get(pk=request.pk)
    request.scope = scope
    return bool(scope.get(CONFIRMATION_SENT))


def mark_confirmation_sent(request: DataSubjectRequest) -> None:
    """Record that the confirmation went out, so a re-run does not send it again."""
    with transaction.atomic():
        scope = (
            DataSubjectRequest.objects.select_for_update()
            .values_list("scope", flat=True)
            .get(pk=request.pk)
        )
        scope = {**scope, CONFIRMATION_SENT: timezone.now().isoformat()}
        DataSubjectRequest.objects.filter(pk=request.pk).update(scope=scope)
    request.scope = scope


def _send_confirmation_once(request: DataSubjectRequest) -> None:
    if confirmation_sent(request):
        return
    subject = request.subject
    if representatives.subject_not_written_to(request):
        # The account holder has died: nothing goes to their mailbox. The relative is told of
        # every step at their own verified address (relatives/mail.py).
        addresses: list[str] = []
    else:
        addresses = [subject.email] if subject is not None else []
        recipient = notifications.recipient_for(request)  # the requester, if someone else filed
        if recipient:
            addresses.append(recipient)
    try:
        notifications.send_erasure_confirmation(
            request=request, to=addresses, retained=retained_summary(request)
        )
    except Exception as exc:  # SMTP errors quote the refused address
        raise ErasureError(
            f"The confirmation e-mail could not be sent ({type(exc).__name__})."
        ) from None
    mark_confirmation_sent(request)


# A system's confirmation kept as written only when it reads as a reference ("erasure-4411"):
# no spaces, no address. Any other text may name the person; its SHA-256 still proves it.
_REFERENCE = re.compile(r"[A-Za-z0-9._:/#-]{1,100}")


def _system_line(answer: systems.SystemErasure) -> dict[str, Any]:
    confirmation = answer.confirmation
    return {
        "key": answer.key,
        "system": answer.name,
        "status": answer.status,
        "counts": answer.counts,
        "tables": answer.tables,
        "confirmation": confirmation if _REFERENCE.fullmatch(confirmation) else "",
        "confirmation_sha256": (
            hashlib.sha256(confirmation.encode()).hexdigest() if confirmation else ""
        ),
        # Who excepted it and when; not the officer's reason, which may name the person.
        "excepted_by": answer.excepted_by,
        "excepted_at": answer.excepted_at.isoformat() if answer.excepted_at else None,
    }


def _record_systems(request: DataSubjectRequest) -> None:
    """Keep, in the erasure record, what each connected system erased and its confirmation:
    the jobs' own copies are emptied with the rest of the subject's data below. Taken once."""
    with transaction.atomic():
        record, _created = ErasureRecord.objects.select_for_update().get_or_create(
            request=request, defaults={"subject_hash": request.subject_hash, "summary": []}
        )
        if record.systems:
            return
        record.systems = [_system_line(answer) for answer in systems.erasure_lines(request)]
        if record.systems:
            record.save(update_fields=["systems"])


def _erase_entry(request: DataSubjectRequest, entry: PersonalData) -> None:
    try:
        with transaction.atomic():
            # Locking the record serializes two workers that would erase the same request.
            record, _created = ErasureRecord.objects.select_for_update().get_or_create(
                request=request, defaults={"subject_hash": request.subject_hash, "summary": []}
            )
            rows = apply_strategy(entry, _rows(entry, request))
            if entry.model is DataSubjectRequest:
                rows += _clear_own_free_text(request)
            record.summary = _merge(record.summary, _summary_line(entry, rows))
            record.save(update_fields=["summary"])
    except Exception as exc:
        raise ErasureError(
            f"Erasure stopped at {entry.model_label} ({type(exc).__name__})."
        ) from None
    logger.debug("request %s: %s %s, %d rows", request.pk, entry.strategy, entry.model_label, rows)


def _clear_own_free_text(request: DataSubjectRequest) -> int:
    """Empty the free text of the request being fulfilled; its scope and history stay."""
    DataSubjectRequest.objects.filter(pk=request.pk).update(details="", contact_email="")
    request.details = request.contact_email = ""
    return 1


def _summary_line(entry: PersonalData, rows: int) -> dict[str, Any]:
    retention = entry.retention if entry.strategy is Strategy.RETAIN else None
    return {
        "category": entry.category,
        "model": entry.model_label,
        "strategy": str(entry.strategy),
        "rows": rows,
        "fields": {
            name: anonymizer.name
            for name, anonymizer in entry.anonymize.items()
            if entry.strategy is Strategy.ANONYMIZE
        },
        "legal_basis": retention.legal_basis if retention else "",
        "retention_days": retention.period.days if retention and retention.period else None,
    }


def _merge(summary: list[dict[str, Any]], line: dict[str, Any]) -> list[dict[str, Any]]:
    """Put `line` in the summary. Deleted rows add up over runs (a re-run finds those gone);
    anonymized and retained rows are still there, so the latest count is the count."""
    merged = []
    found = False
    for existing in summary:
        if existing["model"] == line["model"]:
            found = True
            if line["strategy"] == Strategy.DELETE:
                line = {**line, "rows": existing["rows"] + line["rows"]}
            merged.append(line)
        else:
            merged.append(existing)
    return merged if found else [*merged, line]


def _finish(request: DataSubjectRequest) -> None:
    with transaction.atomic():
        record, _created = ErasureRecord.objects.select_for_update().get_or_create(
            request=request, defaults={"subject_hash": request.subject_hash, "summary": []}
        )
        done_before = AuditLogEntry.objects.filter(
            action=AUDIT_ACTION, target_type="dsar", target_id=str(request.pk)
        ).exists()
        if done_before:
            return
        record.performed_at = timezone.now()
        record.save(update_fields=["performed_at"])
        rows_by_strategy = {str(s): 0 for s in Strategy}
        for line in record.summary:
            rows_by_strategy[line["strategy"]] += line["rows"]
        audit_append(
            action=AUDIT_ACTION,
            actor_user_id=None,
            actor_role=Actor.SYSTEM,
            target_type="dsar",
            target_id=request.pk,
            data={
                "erasure_record": record.pk,
                "whole_account": _chosen_categories(request) is None,
                "models": len(record.summary),
                "systems": len(record.systems),
                "rows": rows_by_strategy,
            },
        )
    logger.info("request %s: erasure finished, rows by strategy %s", request.pk, rows_by_strategy)
