"""Reads about connected systems and child jobs: a request's progress, the staff queues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from requests_dsar.models import DataSubjectRequest

from . import storage
from .models import ACTIVE_STATUSES, ConnectorJob, JobStatus, ManualTask


@dataclass(frozen=True)
class SystemProgress:
    system_id: int
    system: str
    status: str
    status_label: str


@dataclass(frozen=True)
class RequestProgress:
    """How far a request got at the systems in its scope (not-applicable ones left out)."""

    total: int
    settled: int  # done or excepted
    failed: int
    pending: int  # queued, sent or waiting
    systems: list[SystemProgress] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every system in scope is done or excepted (true when none is in scope)."""
        return self.settled == self.total

    @property
    def text(self) -> str:
        if not self.total:
            return "No other system holds data in this request's scope."
        noun = "system" if self.total == 1 else "systems"
        return f"{self.settled} of {self.total} {noun} done"


def request_progress(request: DataSubjectRequest) -> RequestProgress:
    """The request's child jobs summarized: "3 of 4 systems done", and per system."""
    jobs = list(
        ConnectorJob.objects.filter(request=request)
        .exclude(status=JobStatus.NOT_APPLICABLE)
        .select_related("system")
        .order_by("system__name")
    )
    return RequestProgress(
        total=len(jobs),
        settled=sum(job.is_settled for job in jobs),
        failed=sum(job.status == JobStatus.FAILED for job in jobs),
        pending=sum(job.status in ACTIVE_STATUSES for job in jobs),
        systems=[
            SystemProgress(
                system_id=job.system_id,
                system=job.system.name,
                status=job.status,
                status_label=str(JobStatus(job.status).label),
            )
            for job in jobs
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
