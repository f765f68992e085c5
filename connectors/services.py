"""Child jobs of requests at connected systems: create, send, retry, complete, except.

The interface the request engine calls:

- `jobs_for_request(request=...)`: one job per enabled system (idempotent), out-of-scope ones
  `not_applicable`; queued jobs are sent by a worker after the transaction commits.
- `dispatch(job_id=...)`: the worker's unit of work (tasks.dispatch_job): claims a queued job
  with a conditional update, sends it, records the outcome. A redelivered task is a no-op.
- `job_except(job=..., reason=..., officer=...)`: a privacy officer settles a system by hand.
- `request_systems_settled(request=...)`: the request engine's gate: fans out (once) and says
  whether every system in scope is done, not applicable or excepted. Each job that settles
  wakes its request up again (`process_request`), so the portal's own part runs next.
- selectors.request_progress(request): "3 of 4 systems done".

A job is only ever re-sent with its own id (the system's idempotency key). Retries back off
exponentially per system settings; a per-system circuit breaker opens after consecutive
failures and lets one probe through after its cool-down. The row is the truth: the periodic
sweep (sweep_jobs) sends what is due and re-queues claims a dead worker left behind.
"""

from __future__ import annotations

import datetime
import json
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from accounts.services import PROFILE_EDITABLE_FIELDS
from core import mail
from core.audit import audit_append
from core.models import Actor
from core.registry import subject_hmac
from requests_dsar import tasks as request_tasks
from requests_dsar.models import DataSubjectRequest, RequestType, Status
from requests_dsar.notifications import warn_staff
from requests_dsar.services import dsar_file_for_system

from . import db_connector, http_connector, selectors, storage, vault
from .http_connector import Outcome
from .mapping import parse_mapping
from .models import (
    SETTLED_STATUSES,
    ConnectedSystem,
    ConnectorJob,
    Identifier,
    JobStatus,
    JobType,
    Kind,
    RequesterReason,
)
from .results import Result

logger = logging.getLogger(__name__)

JOB_TYPES: dict[str, str] = {
    RequestType.ACCESS: JobType.EXPORT,
    RequestType.COPY: JobType.EXPORT,
    RequestType.TRANSFER: JobType.EXPORT,
    RequestType.DELETE: JobType.ERASE,
    RequestType.CORRECT: JobType.CORRECT,
    RequestType.SUPPLEMENT: JobType.CORRECT,
    RequestType.WITHDRAW_CONSENT: JobType.WITHDRAW_CONSENT,
    RequestType.RESTRICT: JobType.RESTRICT,
}
# Request types each kind of connector can carry out (a database mapping exports and erases).
KIND_REQUEST_TYPES: dict[str, frozenset[str]] = {
    Kind.HTTP: frozenset(JOB_TYPES),
    Kind.MANUAL: frozenset(JOB_TYPES),
    Kind.DATABASE: frozenset(t for t, job in JOB_TYPES.items() if job in ("export", "erase")),
}
MAX_BACKOFF_SECONDS = 3600
SWEEP_BATCH = 500


class JobNotFound(Exception):
    """No such job at the system that signed the message."""


# --- Audit -------------------------------------------------------------------------------------


def audit_job(job: ConnectorJob, action: str, actor: User | None = None, **data: Any) -> None:
    audit_append(
        action=action,
        actor_user_id=actor.pk if actor else None,
        actor_role=Actor.STAFF if actor else Actor.SYSTEM,
        target_type="connector_job",
        target_id=job.pk,
        data={"request_id": job.request_id, "system_id": job.system_id, **data},
    )


def audit_system(
    system: ConnectedSystem, action: str, actor: User | None = None, **data: Any
) -> None:
    audit_append(
        action=action,
        actor_user_id=actor.pk if actor else None,
        actor_role=Actor.STAFF if actor else Actor.SYSTEM,
        target_type="connected_system",
        target_id=system.pk,
        data=data,
    )


# --- Creating a request's jobs -----------------------------------------------------------------


def subject_identifiers(request: DataSubjectRequest) -> dict[str, str]:
    """Every identifier the portal knows the request's subject by."""
    found: dict[str, str] = {}
    subject = request.subject
    if subject is not None:
        if mail.is_deliverable(subject.email):
            found[Identifier.EMAIL] = subject.email
        found[Identifier.USER_ID] = str(subject.pk)
        phone = getattr(getattr(subject, "profile", None), "phone", "")
        if phone:
            found[Identifier.PHONE] = str(phone)
        found[Identifier.HASHED_ID] = request.subject_hash or subject_hmac(f"user:{subject.pk}")
    elif request.subject_hash:
        found[Identifier.HASHED_ID] = request.subject_hash
    return found


def _job_scope(
    system: ConnectedSystem, request: DataSubjectRequest, job_type: str
) -> dict[str, Any] | None:
    """What a job covers at `system`, or None when the system is out of the request's scope."""
    if request.type not in system.request_types:
        return None
    if request.type not in KIND_REQUEST_TYPES[system.kind]:
        return None
    chosen = request.scope.get("categories")
    scope: dict[str, Any] = {"categories": None}  # None: everything the system holds
    if chosen:
        overlap = sorted(set(map(str, chosen)) & set(system.categories))
        if not overlap:
            return None
        scope["categories"] = overlap
    if job_type in (JobType.WITHDRAW_CONSENT, JobType.RESTRICT):
        purposes = sorted(p.key for p in system.purposes.all() if p.is_optional)
        wanted = request.scope.get("purposes")
        if wanted:
            purposes = [key for key in purposes if key in set(map(str, wanted))]
        if not purposes:
            return None
        scope["purposes"] = purposes
    return scope


def _changes(request: DataSubjectRequest) -> list[dict[str, str]]:
    """A correction's new values a system can apply (profile fields; not staff proposals)."""
    return [
        {"field": str(change["field"]), "value": str(change.get("value", ""))}
        for change in request.scope.get("changes") or []
        if isinstance(change, dict) and change.get("field") in PROFILE_EDITABLE_FIELDS
    ]


def _enqueue(job_id: Any, countdown: float | None = None) -> None:
    from . import tasks

    options: dict[str, Any] = {} if countdown is None else {"countdown": countdown}
    transaction.on_commit(partial(tasks.dispatch_job.apply_async, (str(job_id),), **options))


@transaction.atomic
def jobs_for_request(*, request: DataSubjectRequest) -> list[ConnectorJob]:
    """Create the request's child job at every enabled system, once; returns all its jobs.

    A system out of the request's scope (its type, categories or purposes) gets a
    `not_applicable` job, so staff see it was considered. Calling again adds jobs only for
    systems enabled since; existing jobs are left as they are. Types no system handles
    (questions, complaints) create nothing.
    """
    job_type = JOB_TYPES.get(request.type)
    if job_type is None:
        return []
    # Serializes concurrent fan-outs of the same request.
    DataSubjectRequest.objects.select_for_update().filter(pk=request.pk).first()
    known = subject_identifiers(request)
    done = ConnectorJob.objects.filter(request=request).values_list("system_id", flat=True)
    systems = (
        ConnectedSystem.objects.filter(enabled=True)
        .exclude(pk__in=list(done))
        .prefetch_related("purposes")
    )
    for system in systems:
        scope = _job_scope(system, request, job_type)
        identifiers = {key: known[key] for key in system.identifiers if key in known}
        defaults: dict[str, Any] = {"type": job_type, "scope": scope or {}}
        if scope is None:
            defaults.update(status=JobStatus.NOT_APPLICABLE, completed_at=timezone.now())
        elif not identifiers:
            defaults.update(status=JobStatus.FAILED, last_error="no_known_identifier")
        else:
            subject: dict[str, Any] = {"identifiers": identifiers}
            if job_type == JobType.CORRECT:
                subject["changes"] = _changes(request)
            defaults["subject_sealed"] = vault.seal(json.dumps(subject))
        job, created = ConnectorJob.objects.get_or_create(
            request=request, system=system, defaults=defaults
        )
        if created:
            audit_job(job, "connector.job_created", status=job.status, type=job.type)
            if job.status == JobStatus.QUEUED:
                _enqueue(job.pk)
    return list(ConnectorJob.objects.filter(request=request).select_related("system"))


def request_systems_settled(*, request: DataSubjectRequest) -> bool:
    """Whether every connected system in the request's scope has settled its part (done, not
    applicable or excepted). Creates the request's jobs first (once; idempotent)."""
    jobs_for_request(request=request)
    return not (
        ConnectorJob.objects.filter(request=request).exclude(status__in=SETTLED_STATUSES).exists()
    )


def request_jobs_close(*, request: DataSubjectRequest) -> int:
    """The request was cancelled or denied: no system is asked any more. Jobs not yet settled
    become `not_applicable` (their identifiers dropped), and what systems already returned for
    it, never to be delivered, is deleted after commit. Returns how many jobs were stopped."""
    now = timezone.now()
    open_jobs = ConnectorJob.objects.filter(request=request).exclude(status__in=SETTLED_STATUSES)
    stopped = list(open_jobs.values_list("pk", flat=True))
    open_jobs.update(
        status=JobStatus.NOT_APPLICABLE,
        subject_sealed="",
        next_attempt_at=None,
        last_error="request_closed",
        completed_at=now,
    )
    for job in ConnectorJob.objects.filter(pk__in=stopped):
        audit_job(job, "connector.job_stopped", reason="request_closed")
    with_results = ConnectorJob.objects.filter(request=request).exclude(result_storage_name="")
    names = list(with_results.values_list("result_storage_name", flat=True))
    with_results.update(result_storage_name="", result_sha256="", result_size=0)

    def delete_results() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_results)
    return len(stopped)


def request_wake(job: ConnectorJob) -> None:
    """A job settled: the request waiting on its systems looks again, after commit."""
    waiting = DataSubjectRequest.objects.filter(
        pk=job.request_id, status=Status.WAITING_ON_SYSTEMS
    ).exists()
    if waiting:
        transaction.on_commit(partial(request_tasks.process_request.delay, job.request_id))


def consent_withdrawal_push(
    *, user: User, purpose_key: str, actor: User | None
) -> DataSubjectRequest | None:
    """A consent was withdrawn outside a request (the consent centre, the API, a guardian, the
    browser's GPC signal): every enabled system serving the purpose is told to stop, through a
    `withdraw_consent` request the portal files for the user, scoped to that purpose. It fans
    out, retries, alerts and completes like any request, so the user sees it reach each system.
    Nothing is filed when no system serves the purpose. Returns the request."""
    serving = ConnectedSystem.objects.filter(enabled=True, purposes__key=purpose_key)
    if not any(RequestType.WITHDRAW_CONSENT in system.request_types for system in serving):
        return None
    return dsar_file_for_system(
        subject=user,
        requester=actor or user,
        type=RequestType.WITHDRAW_CONSENT,
        scope={"purposes": [purpose_key]},
        reason="Filed by the portal when the consent was withdrawn: the systems serving the "
        "purpose are told to stop.",
    )


# --- Sending -----------------------------------------------------------------------------------


def _unsealed_subject(job: ConnectorJob) -> dict[str, Any]:
    subject = json.loads(vault.unseal(job.subject_sealed) or "{}")
    return subject if isinstance(subject, dict) else {}


def callback_url() -> str:
    from django.urls import reverse

    return settings.PORTAL_URL + reverse("api:connectors-callback")


def protocol_payload(job: ConnectorJob, subject: dict[str, Any]) -> dict[str, Any]:
    """The job as the protocol sends it (docs/connector-openapi.yaml, `Job`)."""
    scope: dict[str, Any] = {"categories": job.scope.get("categories")}
    if "purposes" in job.scope:
        scope["purposes"] = job.scope["purposes"]
    if job.type == JobType.CORRECT:
        scope["changes"] = subject.get("changes", [])
    due_at = job.request.due_at
    return {
        "job_id": str(job.pk),
        "request_id": str(job.request.public_id),
        "type": job.type,
        "identifiers": subject.get("identifiers", {}),
        "scope": scope,
        "callback_url": callback_url(),
        "due_at": due_at.isoformat() if due_at else None,
    }


def _run_database(job: ConnectorJob, subject: dict[str, Any]) -> Outcome:
    system = job.system
    try:
        mapping = parse_mapping(system.mapping, identifiers=system.identifiers)
    except ValidationError:
        return Outcome("fail", "invalid_mapping")
    dsn = vault.unseal(system.dsn_encrypted)
    identifiers = subject.get("identifiers", {})
    categories = job.scope.get("categories")
    try:
        if job.type == JobType.EXPORT:
            data = db_connector.export(dsn, mapping, identifiers, categories=categories)
            counts = {category: len(rows) for category, rows in data.items()}
            return Outcome("result", result=Result(status="done", data=data, counts=counts))
        if job.type == JobType.ERASE:
            lines = db_connector.erase(dsn, mapping, identifiers, categories=categories)
            erased: dict[str, int] = {}
            for line in lines:
                if line["strategy"] != "retain":
                    erased[line["category"]] = erased.get(line["category"], 0) + line["rows"]
            confirmation = f"{len(lines)} tables in one transaction"
            result = Result(status="done", counts=erased, confirmation=confirmation, tables=lines)
            return Outcome("result", result=result)
    except db_connector.ConnectorDatabaseError as exc:
        return Outcome("retry" if exc.transient else "fail", f"db:{exc.code}"[:100])
    return Outcome("fail", "unsupported_type")


def _run(job: ConnectorJob) -> Outcome:
    system = job.system
    try:
        subject = _unsealed_subject(job)
        if system.kind == Kind.DATABASE:
            return _run_database(job, subject)
        return http_connector.send_job(
            system.url,
            protocol_payload(job, subject),
            secret=vault.unseal(system.secret_encrypted),
            key_id=system.key_id,
            timeout=system.timeout_seconds,
            job_type=job.type,
        )
    except vault.SealedValueUnreadable:
        return Outcome("fail", "secret_unreadable")


def dispatch(*, job_id: Any) -> None:
    """Send one queued job whose time has come, and record what came of it.

    Safe to call any number of times: the job is claimed (queued -> sent) by a conditional
    update, so a second worker or a redelivered task finds nothing to do.
    """
    now = timezone.now()
    claimed = (
        ConnectorJob.objects.filter(pk=job_id, status=JobStatus.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=JobStatus.SENT,
            attempts=F("attempts") + 1,
            claimed_at=now,
            next_attempt_at=None,
            stuck_alerted_at=None,  # it moves again: a new stall is told again
        )
    )
    if not claimed:
        return
    job = ConnectorJob.objects.select_related("system", "request").get(pk=job_id)
    attempt = job.attempts
    system = job.system
    if system.kind == Kind.MANUAL:
        from .manual import manual_task_open

        manual_task_open(job=job, attempt=attempt)
        return
    if not system.enabled:
        _fail(job, attempt, "system_disabled")
        return
    probe_until = _breaker_admits(system.pk)
    if probe_until is not None:
        _release(job, attempt, until=probe_until)
        return
    try:
        outcome = _run(job)
    except Exception as exc:
        # Never leave the job claimed on a surprise; its type only (messages carry values).
        logger.warning("connector job %s: unexpected %s", job.pk, type(exc).__name__)
        outcome = Outcome("retry", type(exc).__name__)
    _apply(job, attempt, outcome)


def _claimed(job: ConnectorJob, attempt: int) -> Any:
    return ConnectorJob.objects.filter(pk=job.pk, status=JobStatus.SENT, attempts=attempt)


def _apply(job: ConnectorJob, attempt: int, outcome: Outcome) -> None:
    if outcome.kind == "result":
        assert outcome.result is not None
        _breaker_success(job.system)
        with transaction.atomic():
            locked = _claimed(job, attempt).select_for_update().first()
            if locked is not None:
                _record_result(locked, outcome.result)
        return
    if outcome.kind == "accepted":
        _breaker_success(job.system)
        with transaction.atomic():
            if _claimed(job, attempt).update(status=JobStatus.WAITING, sent_at=timezone.now()):
                audit_job(job, "connector.job_accepted", attempt=attempt)
        return
    if outcome.kind == "retry":
        _breaker_failure(job.system)
        if attempt >= job.system.max_attempts:
            _fail(job, attempt, outcome.error)
        else:
            _retry_later(job, attempt, outcome.error)
        return
    _fail(job, attempt, outcome.error)


def backoff(system: ConnectedSystem, attempt: int) -> float:
    """Seconds before the next try after `attempt` tries: base, 2 x base, 4 x base..."""
    return float(min(system.retry_base_seconds * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS))


@transaction.atomic
def _retry_later(job: ConnectorJob, attempt: int, error: str) -> None:
    delay = backoff(job.system, attempt)
    at = timezone.now() + datetime.timedelta(seconds=delay)
    if _claimed(job, attempt).update(
        status=JobStatus.QUEUED, next_attempt_at=at, last_error=error[:100]
    ):
        audit_job(job, "connector.job_retry_scheduled", attempt=attempt, error=error[:100])
        _enqueue(job.pk, countdown=delay)


@transaction.atomic
def _release(job: ConnectorJob, attempt: int, *, until: datetime.datetime) -> None:
    """The breaker is open: back to the queue until it lets a probe through, not an attempt."""
    if _claimed(job, attempt).update(
        status=JobStatus.QUEUED,
        attempts=F("attempts") - 1,
        next_attempt_at=until,
        last_error="circuit_open",
    ):
        _enqueue(job.pk, countdown=max((until - timezone.now()).total_seconds(), 0.0))


@transaction.atomic
def _fail(job: ConnectorJob, attempt: int, error: str) -> None:
    if _claimed(job, attempt).update(status=JobStatus.FAILED, last_error=error[:100]):
        audit_job(job, "connector.job_failed", attempt=attempt, error=error[:100])


def _record_result(job: ConnectorJob, result: Result) -> None:
    """Apply a system's result to a job locked by the caller (inside its transaction)."""
    now = timezone.now()
    if not result.done:
        job.status = JobStatus.FAILED
        job.last_error = f"system:{result.error}"[:100]
        job.save(update_fields=["status", "last_error"])
        audit_job(job, "connector.job_failed", error=job.last_error)
        return
    stored = storage.store_json(result.data) if result.data is not None else None
    if stored is not None:
        job.result_storage_name = stored.storage_name
        job.result_key_id = stored.key_id
        job.result_content_type = stored.content_type
        job.result_size = stored.size
        job.result_sha256 = stored.sha256
    counts = result.counts
    if result.data is not None and not counts:
        counts = {category: len(rows) for category, rows in result.data.items()}
    summary: dict[str, Any] = {"counts": counts}
    if result.tables:
        summary["tables"] = result.tables
    job.result_summary = summary
    job.confirmation = result.confirmation[:200]
    job.status = JobStatus.DONE
    job.completed_at = now
    job.last_error = ""
    job.subject_sealed = ""
    try:
        job.save(
            update_fields=[
                "result_storage_name",
                "result_key_id",
                "result_content_type",
                "result_size",
                "result_sha256",
                "result_summary",
                "confirmation",
                "status",
                "completed_at",
                "last_error",
                "subject_sealed",
            ]
        )
        audit_job(job, "connector.job_done", rows=sum(counts.values()))
        request_wake(job)
    except Exception:
        if stored is not None:
            storage.delete(stored.storage_name)
        raise


# --- The circuit breaker ----------------------------------------------------------------------


@transaction.atomic
def _breaker_admits(system_id: int) -> datetime.datetime | None:
    """None when a send may go ahead; otherwise when to try again.

    Open: nothing goes through until `open_until`. After it, one probe is let through (the
    breaker stays open for the others for another cool-down); its outcome closes the breaker
    or keeps it open.
    """
    system = ConnectedSystem.objects.select_for_update().get(pk=system_id)
    now = timezone.now()
    if system.open_until is None:
        return None
    if system.open_until > now:
        return system.open_until
    system.open_until = now + datetime.timedelta(seconds=system.cooldown_seconds)
    system.save(update_fields=["open_until"])
    return None


@transaction.atomic
def _breaker_failure(system: ConnectedSystem) -> None:
    locked = ConnectedSystem.objects.select_for_update().get(pk=system.pk)
    locked.consecutive_failures += 1
    fields = ["consecutive_failures"]
    if locked.consecutive_failures >= locked.failure_threshold:
        was_closed = locked.open_until is None
        locked.open_until = timezone.now() + datetime.timedelta(seconds=locked.cooldown_seconds)
        fields.append("open_until")
        if was_closed:
            audit_system(locked, "connector.breaker_opened", failures=locked.consecutive_failures)
    locked.save(update_fields=fields)


def _breaker_success(system: ConnectedSystem) -> None:
    closed = (
        ConnectedSystem.objects.filter(pk=system.pk)
        .filter(Q(consecutive_failures__gt=0) | Q(open_until__isnull=False))
        .update(consecutive_failures=0, open_until=None)
    )
    if closed:
        audit_system(system, "connector.breaker_closed")


# --- Callbacks ---------------------------------------------------------------------------------


@transaction.atomic
def callback_receive(*, system: ConnectedSystem, job_id: str, payload: Any) -> str:
    """A system's signed callback with a job's result. Returns "accepted" or "duplicate".

    Raises JobNotFound (no such job at this system) and results.InvalidResult. A result for a
    job already settled is acknowledged and ignored: duplicates count once.
    """
    job = (
        ConnectorJob.objects.select_for_update()
        .select_related("system")
        .filter(pk=job_id, system=system)
        .first()
    )
    if job is None:
        raise JobNotFound(job_id)
    if job.is_settled:
        return "duplicate"
    from .results import parse_result

    result = parse_result(payload, job_id=str(job.pk), job_type=job.type)
    if job.status == JobStatus.FAILED and not result.done:
        return "duplicate"
    _record_result(job, result)
    _breaker_success(system)
    return "accepted"


# --- Staff -----------------------------------------------------------------------------------


@transaction.atomic
def job_except(
    *,
    job: ConnectorJob,
    reason: str,
    officer: User,
    requester_reason: str,
    requester_text: str = "",
) -> ConnectorJob:
    """A privacy officer records why a system is excepted from a request; settles the job.
    `reason` is the record for staff; the requester's copy says `requester_reason` (one of
    RequesterReason), or `requester_text` where the officer rewrote it for them."""
    if not officer.has_perm("connectors.except_connectorjob"):
        raise PermissionDenied("Only a privacy officer can except a system from a request.")
    reason = reason.strip()
    errors = {}
    if not reason:
        errors["reason"] = "State why this system is excepted."
    if requester_reason not in RequesterReason.values:
        errors["requester_reason"] = "Choose what the requester is told."
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    changed = (
        ConnectorJob.objects.filter(pk=job.pk)
        .exclude(status__in=[JobStatus.DONE, JobStatus.NOT_APPLICABLE, JobStatus.EXCEPTED])
        .update(
            status=JobStatus.EXCEPTED,
            excepted_reason=reason,
            requester_reason=requester_reason,
            requester_text=requester_text.strip(),
            excepted_by=officer,
            excepted_at=now,
            completed_at=now,
            subject_sealed="",
            next_attempt_at=None,
        )
    )
    if not changed:
        raise ValidationError("This job is already settled (done, not applicable or excepted).")
    job.refresh_from_db()
    audit_job(job, "connector.job_excepted", officer)
    request_wake(job)
    return job


@transaction.atomic
def job_retryable(job: ConnectorJob) -> bool:
    """Whether staff may send a job again now: one that failed, one still queued (waiting out
    its backoff after connection errors), or one a system accepted but never answered. Not a
    job being sent this moment, nor a manual system's (its staff task is the work)."""
    if job.status in (JobStatus.FAILED, JobStatus.QUEUED):
        return True
    return job.status == JobStatus.WAITING and job.system.kind != Kind.MANUAL


def job_retry(*, job: ConnectorJob, actor: User) -> ConnectorJob:
    """Staff send a job again now (same job id, which the system treats as the same work),
    with a fresh set of attempts."""
    if not actor.has_perm("connectors.change_connectorjob"):
        raise PermissionDenied("You may not retry jobs.")
    if not job.subject_sealed:
        raise ValidationError("This job has no identifiers to send; except it instead.")
    if not job_retryable(job):
        raise ValidationError(
            "Only a job that failed, is still queued, or waits for a system's answer can be "
            "sent again."
        )
    changed = ConnectorJob.objects.filter(pk=job.pk, status=job.status).update(
        status=JobStatus.QUEUED,
        attempts=0,
        next_attempt_at=None,
        last_error="",
        stuck_alerted_at=None,
    )
    if not changed:
        raise ValidationError("The job moved on meanwhile; look at it again.")
    job.refresh_from_db()
    audit_job(job, "connector.job_retried", actor)
    _enqueue(job.pk)
    return job


def system_breaker_reset(*, system: ConnectedSystem, actor: User) -> None:
    """Staff close a system's circuit breaker (it is back); its queued jobs go out at once."""
    with transaction.atomic():
        ConnectedSystem.objects.filter(pk=system.pk).update(consecutive_failures=0, open_until=None)
        audit_system(system, "connector.breaker_reset", actor)
        due = ConnectorJob.objects.filter(system=system, status=JobStatus.QUEUED)
        due.update(next_attempt_at=None, stuck_alerted_at=None)
        for job_id in due.values_list("pk", flat=True)[:SWEEP_BATCH]:
            _enqueue(job_id)


# --- The sweep -------------------------------------------------------------------------------


def sweep() -> dict[str, int]:
    """Periodic: re-queue claims a dead worker left, re-send jobs whose callback never came,
    and wake up every queued job that is due. Returns counts (for logs and tests)."""
    now = timezone.now()
    stalled = ConnectorJob.objects.filter(
        status=JobStatus.SENT,
        claimed_at__lt=now - datetime.timedelta(seconds=settings.CONNECTOR_STALLED_AFTER_SECONDS),
    ).update(status=JobStatus.QUEUED, next_attempt_at=now, last_error="stalled")
    unanswered = ConnectorJob.objects.filter(
        status=JobStatus.WAITING,
        system__kind=Kind.HTTP,
        sent_at__lt=now - datetime.timedelta(hours=settings.CONNECTOR_CALLBACK_WAIT_HOURS),
    ).update(status=JobStatus.QUEUED, next_attempt_at=now, last_error="no_callback")
    due = list(
        ConnectorJob.objects.filter(status=JobStatus.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    from . import tasks

    for job_id in due:
        tasks.dispatch_job.delay(str(job_id))
    # Requests still waiting on systems that have all settled: the wake-up a settled job sent
    # was lost (a broker restart). They look again.
    woken = selectors.waiting_requests_settled(SWEEP_BATCH)
    for request_id in woken:
        request_tasks.process_request.delay(request_id)
    alerted = alert_stuck_systems(now)
    if stalled or unanswered or due or woken or alerted:
        logger.info(
            "connector sweep: %s stalled, %s unanswered, %s due, %s requests woken, "
            "%s stuck jobs told to staff",
            stalled,
            unanswered,
            len(due),
            len(woken),
            alerted,
        )
    return {
        "stalled": stalled,
        "unanswered": unanswered,
        "due": len(due),
        "woken": len(woken),
        "alerted": alerted,
    }


def alert_stuck_systems(now: datetime.datetime) -> int:
    """Tell staff, once per stall, of each open request's system that cannot move on its own
    (failed, or behind an open circuit breaker), naming the system, well before the deadline."""
    jobs = selectors.stuck_jobs_to_alert(SWEEP_BATCH)
    if not jobs:
        return 0
    systems: dict[int, list[str]] = {}
    for job in jobs:
        reason = "failed" if job.status == JobStatus.FAILED else "its system is not answering"
        error = f", {job.last_error}" if job.last_error else ""
        systems.setdefault(job.request_id, []).append(f"{job.system.name} ({reason}{error})")
    # Sent first, marked after: a failed e-mail (or nobody to tell yet) is tried again by the
    # next sweep.
    if not warn_staff(kind="systems_stuck", request_ids=list(systems), days=0, systems=systems):
        return 0
    ConnectorJob.objects.filter(pk__in=[job.pk for job in jobs]).update(stuck_alerted_at=now)
    return len(jobs)
