"""Connector jobs in the subject's own export and erasure (the personal-data registry)."""

import pytest
from django.core.files.storage import default_storage

from connectors import storage
from connectors.models import ConnectorJob, JobStatus
from core.registry import registry
from requests_dsar.erasure import fulfil_erasure
from tests.connectors.factories import ConnectorJobFactory
from tests.factories import DataSubjectRequestFactory

pytestmark = pytest.mark.django_db


def test_erasing_the_subject_removes_what_other_systems_returned_about_them(
    django_capture_on_commit_callbacks,
):
    stored = storage.store_json({"play_history": [{"track": "Teardrop"}]})
    earlier = ConnectorJobFactory(
        request__status="completed",
        status=JobStatus.DONE,
        result_storage_name=stored.storage_name,
        subject_sealed="",
    )
    deletion = DataSubjectRequestFactory(type="delete", subject=earlier.request.subject)

    # Files go once the transactions that let go of them have committed.
    with django_capture_on_commit_callbacks(execute=True):
        fulfil_erasure(deletion)

    job = ConnectorJob.objects.get(pk=earlier.pk)
    assert job.result_storage_name == ""
    assert not default_storage.exists(stored.storage_name)


def test_a_job_still_at_work_is_left_to_finish_the_erasure_it_carries():
    working = ConnectorJobFactory(status=JobStatus.WAITING)
    entry = registry.get(ConnectorJob)

    assert not entry.rows_for(working.request.subject).filter(pk=working.pk).exists()
