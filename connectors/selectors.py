"""Reads about connected systems and child jobs: a request's progress, the staff queues."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from requests_dsar.models import OPEN_STATUSES, DataSubjectRequest, Status
from requests_dsar.systems import RequestProgress, SystemProgress

from . import storage
from .models import ACTIVE_STATUSES, SETTLED_STATUSES, ConnectorJob, JobStatus, ManualTask


def request_progress(request: DataSubjectRequest) -> RequestProgress:
    """The request's child jobs summarized: "3 of 4 systems done", and per system. Reads the
    jobs `with_progress` prefetched when there are (no query then)."""
    if "connector_jobs" in getattr(request, "_prefetched_objects_cache", {}):
        return progress_of(request.connector_jobs.all())
    return progress_of(ConnectorJob.objects.filter(request=request).select_related("system"))


def with_progress(queryset: QuerySet[DataSubjectRequest]) -> QuerySet[DataSubjectRequest]:
    """The requests with what `request_progress` reads, in one query for all of them."""
    return queryset.prefetch_related(
        Prefetch("connector_jobs", queryset=ConnectorJob.objects.select_related("system"))
    )


def progress_of(jobs: Iterable[ConnectorJob]) -> RequestProgress:
    """`request_progress` of jobs already read (a prefetch: no query here)."""
    in_scope = sorted(
        (job for job in jobs if job.status != JobStatus.NOT_APPLICABLE),
        key=lambda job: job.system.name,
    )
    # In trouble: failed, or queued again after errors (a retry with backoff is due).
    delayed = [
        job
        for job in in_scope
        if job.status == JobStatus.FAILED or (job.status == JobStatus.QUEUED and job.attempts)
    ]
    return RequestProgress(
        total=len(in_scope),
        settled=sum(job.is_settled for job in in_scope),
        failed=sum(job.status == JobStatus.FAILED for job in in_scope),
        pending=sum(job.status in ACTIVE_STATUSES for job in in_scope),
        delayed=len(delayed),
        next_try_at=min(
            (job.next_attempt_at for job in delayed if job.next_attempt_at is not None),
            default=None,
        ),
        systems=[
            SystemProgress(
                system_id=job.system_id,
                system=job.system.name,
                status=job.status,
                status_label=str(JobStatus(job.status).label),
                delayed=job in delayed,
            )
            for job in in_scope
        ],
    )


def open_manual_tasks() -> QuerySet[ManualTask]:
    """The staff queue of manual tasks, by the request's deadline."""
    return ManualTask.objects.filter(
        completed_at__isnull=True, job__status__in=ACTIVE_STATUSES
    ).select_related("job__system", "job__request")


def job_result_data(job: ConnectorJob) -> Any:
    """An export job's data ({category: [rows]}), decrypted; None when it has none."""
    if not job.result_storage_name or job.result_content_type != "application/json":
        return None
    return storage.read_json(job.result_storage_name)


def _unsettled_jobs() -> QuerySet[ConnectorJob]:
    return ConnectorJob.objects.exclude(status__in=SETTLED_STATUSES)


def waiting_requests_settled(limit: int) -> list[int]:
    """Requests still waiting on their systems though every one has settled: the wake-up a
    settled job sent was lost (a broker restart). The sweep queues them again."""
    unsettled = _unsettled_jobs().filter(request=OuterRef("pk"))
    return list(
        DataSubjectRequest.objects.filter(status=Status.WAITING_ON_SYSTEMS)
        .exclude(Exists(unsettled))
        .values_list("pk", flat=True)[:limit]
    )


def unsettled_systems(request_ids: list[int]) -> dict[int, list[str]]:
    """The systems each request still waits on, with their status ("Product (failed)")."""
    found: dict[int, list[str]] = {}
    jobs = (
        _unsettled_jobs()
        .filter(request_id__in=request_ids)
        .select_related("system")
        .order_by("system__name")
    )
    for job in jobs:
        label = f"{job.system.name} ({JobStatus(job.status).label.lower()})"
        found.setdefault(job.request_id, []).append(label)
    return found


def stuck_jobs_to_alert(limit: int) -> list[ConnectorJob]:
    """Jobs of open requests that cannot move on their own, not yet told to staff: failed (out
    of attempts, or refused), or queued behind their system's open circuit breaker."""
    now = timezone.now()
    stuck = Q(status=JobStatus.FAILED) | Q(status=JobStatus.QUEUED, system__open_until__gt=now)
    return list(
        ConnectorJob.objects.filter(stuck, stuck_alerted_at__isnull=True)
        .filter(request__status__in=OPEN_STATUSES)
        .select_related("system", "request")
        .order_by("request__due_at", "pk")[:limit]
    )
