"""What requests ask of the company's other systems (requests_dsar.systems), answered from the
request's child jobs. Registered by `ConnectorsConfig.ready()`."""

from __future__ import annotations

from functools import partial

from core.uploads import open_decrypted
from requests_dsar import systems
from requests_dsar.models import DataSubjectRequest

from . import selectors, services, storage
from .models import ConnectorJob, JobStatus, RequesterReason


def _in_scope(request: DataSubjectRequest) -> list[ConnectorJob]:
    return list(
        ConnectorJob.objects.filter(request=request)
        .exclude(status=JobStatus.NOT_APPLICABLE)
        .select_related("system")
        .order_by("system__key")
    )


def _requester_note(job: ConnectorJob) -> str:
    """What the requester reads of an excepted system: never the officer's own reason."""
    if job.requester_text:
        return job.requester_text
    if job.requester_reason in RequesterReason.values:
        return str(RequesterReason(job.requester_reason).label)
    # Excepted before the requester's reason was asked for: a neutral sentence.
    return "This system's part could not be included."


def copy_parts(request: DataSubjectRequest) -> list[systems.SystemPart]:
    parts = []
    for job in _in_scope(request):
        excepted = job.status == JobStatus.EXCEPTED
        name = job.result_storage_name
        is_json = job.result_content_type == "application/json"
        parts.append(
            systems.SystemPart(
                key=job.system.key,
                name=job.system.name,
                status=job.status,
                excepted_note=_requester_note(job) if excepted else None,
                rows=partial(storage.read_json, name)
                if name and is_json and not excepted
                else None,
                chunks=partial(open_decrypted, name)
                if name and not is_json and not excepted
                else None,
                content_type=job.result_content_type,
            )
        )
    return parts


def erasure_lines(request: DataSubjectRequest) -> list[systems.SystemErasure]:
    return [
        systems.SystemErasure(
            key=job.system.key,
            name=job.system.name,
            status=job.status,
            counts=job.result_summary.get("counts", {}),
            tables=job.result_summary.get("tables", []),
            confirmation=job.confirmation or "",
            excepted_by=job.excepted_by_id,
            excepted_at=job.excepted_at,
        )
        for job in _in_scope(request)
    ]


CONNECTED_SYSTEMS = systems.Systems(
    settled=lambda request: services.request_systems_settled(request=request),
    stop=lambda request: services.request_jobs_close(request=request),
    progress=selectors.request_progress,
    with_progress=selectors.with_progress,
    waiting_on=selectors.unsettled_systems,
    copy_parts=copy_parts,
    erasure_lines=erasure_lines,
)
