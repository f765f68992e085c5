"""What connected systems' jobs hold about a user, for export and erasure.

A job of the subject's request holds, sealed, the identifiers it sends (emptied once the job is
settled) and a result (an export's data, a manual task's file). Jobs still at work are left to
finish: the erasure of the request they serve may be what they are carrying out, and they empty
themselves when settled.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from core.registry import Strategy, fixed, register
from core.uploads import delete_stored

from .models import ACTIVE_STATUSES


def _settled_jobs(user: Any) -> QuerySet:
    from .models import ConnectorJob

    return ConnectorJob.objects.filter(request__subject=user).exclude(status__in=ACTIVE_STATUSES)


def _manual_tasks(user: Any) -> QuerySet:
    from .models import ManualTask

    return ManualTask.objects.filter(job__request__subject=user).exclude(
        job__status__in=ACTIVE_STATUSES
    )


def _delete_results(jobs: QuerySet) -> None:
    for name in jobs.exclude(result_storage_name="").values_list("result_storage_name", flat=True):
        delete_stored(name)


register(
    "connectors.ConnectorJob",
    category="requests",
    label="Your requests",
    user_path="request__subject",
    rows=_settled_jobs,
    fields={
        "system__name": "Other system of ours",
        "type": "Asked of it",
        "status": "Status",
        "created_at": "Sent",
        "completed_at": "Settled",
        "result_summary": "Result",
    },
    strategy=Strategy.ANONYMIZE,
    anonymize={
        "subject_sealed": fixed(""),
        "result_storage_name": fixed(""),
        "result_sha256": fixed(""),
        "excepted_reason": fixed("Erased with the subject's data."),
        "requester_text": fixed(""),
        # Correction and free text a system returned may name the person.
        "confirmation": fixed(""),
    },
    before_erase=_delete_results,
    order=870,
)
register(
    "connectors.ManualTask",
    category="requests",
    label="Your requests",
    user_path="job__request__subject",
    rows=_manual_tasks,
    fields={"created_at": "Staff task opened", "completed_at": "Staff task completed"},
    strategy=Strategy.ANONYMIZE,
    # The staff member who completed it stays: that is the record of who did what.
    anonymize={"note": fixed("")},
    order=860,
)
