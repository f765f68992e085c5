"""Manual systems: no machine interface, so each job becomes a staff task in admin.

The task shows what to do, the subject's identifiers (decrypted for staff, audited when viewed)
and the request's deadline. Staff complete it with a result file (PDF, JPEG or PNG, checked and
encrypted by requests_dsar/uploads.py) or a confirmation note; completing settles the job.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import uploads

from . import vault
from .models import ConnectorJob, JobStatus, JobType, ManualTask

WHAT_TO_DO = {
    JobType.EXPORT: "Find every record of this person in {system} and attach them as a file "
    "(PDF, JPEG or PNG), or note that there are none.",
    JobType.ERASE: "Erase every record of this person in {system}, then confirm here what was "
    "erased (counts, not contents).",
    JobType.CORRECT: "Apply the requested corrections in {system} and confirm here.",
    JobType.WITHDRAW_CONSENT: "Stop processing this person's data in {system} for the withdrawn "
    "purposes ({purposes}) and confirm here.",
    JobType.RESTRICT: "Restrict processing of this person's data in {system} to what the law "
    "requires ({purposes}) and confirm here.",
}


def instructions_for(job: ConnectorJob) -> str:
    categories = job.scope.get("categories")
    text = WHAT_TO_DO[JobType(job.type)].format(
        system=job.system.name, purposes=", ".join(job.scope.get("purposes") or []) or "all"
    )
    scope = f"Categories: {', '.join(categories)}." if categories else "Categories: all."
    return f"{text} {scope}"


def subject_for_staff(task: ManualTask) -> dict[str, Any]:
    """The identifiers (and corrections) staff need, while the task is open."""
    if not task.job.subject_sealed:
        return {}
    data = json.loads(vault.unseal(task.job.subject_sealed))
    return data if isinstance(data, dict) else {}


@transaction.atomic
def manual_task_open(*, job: ConnectorJob, attempt: int) -> ManualTask:
    """The worker's step for a manual system: one task per job (idempotent); the job waits."""
    from .services import audit_job

    task, created = ManualTask.objects.get_or_create(
        job=job,
        defaults={"instructions": instructions_for(job), "due_at": job.request.due_at},
    )
    changed = ConnectorJob.objects.filter(
        pk=job.pk, status=JobStatus.SENT, attempts=attempt
    ).update(status=JobStatus.WAITING, sent_at=timezone.now())
    if created or changed:
        audit_job(job, "connector.manual_task_opened", task_id=task.pk)
    return task


def manual_task_complete(
    *, task: ManualTask, actor: User, result_file: UploadedFile | None = None, note: str = ""
) -> ManualTask:
    """Staff record that a manual task is done, with a result file, a note, or both.

    The file is checked and encrypted into storage first; nothing is recorded if it is refused
    (ValidationError with the rule it broke), and it is removed again if recording fails.
    """
    if not actor.has_perm("connectors.change_manualtask"):
        raise PermissionDenied("You may not complete manual tasks.")
    note = note.strip()
    if result_file is None and not note:
        raise ValidationError("Attach the result or write a confirmation note.")
    if task.completed_at is not None:
        raise ValidationError("This task is already completed.")
    stored = uploads.store_encrypted(result_file, folder="connectors") if result_file else None
    try:
        return _record_completion(task=task, actor=actor, stored=stored, note=note)
    except BaseException:
        if stored is not None:
            uploads.delete_stored(stored.storage_name)
        raise


@transaction.atomic
def _record_completion(
    *, task: ManualTask, actor: User, stored: uploads.StoredUpload | None, note: str
) -> ManualTask:
    from .services import audit_job, request_wake

    locked = ManualTask.objects.select_for_update().select_related("job").get(pk=task.pk)
    if locked.completed_at is not None:
        raise ValidationError("This task is already completed.")
    job = ConnectorJob.objects.select_for_update().get(pk=locked.job_id)
    if job.is_settled:
        raise ValidationError("This system's job is already settled (excepted or done).")
    now = timezone.now()
    locked.completed_at = now
    locked.completed_by = actor
    locked.note = note
    locked.save(update_fields=["completed_at", "completed_by", "note"])
    job.status = JobStatus.DONE
    job.completed_at = now
    job.last_error = ""
    job.subject_sealed = ""
    job.confirmation = f"Completed by staff (task #{locked.pk})"
    job.result_summary = {"manual": {"file": stored is not None, "note": bool(note)}}
    fields = [
        "status",
        "completed_at",
        "last_error",
        "subject_sealed",
        "confirmation",
        "result_summary",
    ]
    if stored is not None:
        job.result_storage_name = stored.storage_name
        job.result_key_id = stored.key_id
        job.result_content_type = stored.content_type
        job.result_size = stored.size
        job.result_sha256 = stored.sha256
        fields += [
            "result_storage_name",
            "result_key_id",
            "result_content_type",
            "result_size",
            "result_sha256",
        ]
    job.save(update_fields=fields)
    audit_job(job, "connector.manual_task_completed", actor, task_id=locked.pk)
    request_wake(job)
    return locked
