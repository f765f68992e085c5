"""Tasks run in-process (the embedded default: no broker, `make run`) never turn a person's
request into an error page: a task's retry or failure is logged and left to the periodic sweeps.

These tests commit for real (transaction=True), so the tasks queued after commit run inside the
request, as they do under `runserver`."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import OperationalError
from django.test import Client

from accounts import services as account_services
from connectors import services as connector_services
from connectors.models import ConnectorJob, JobStatus
from requests_dsar.models import DataSubjectRequest, Status
from tests.connectors.factories import ConnectedSystemFactory
from tests.factories import ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
CODE = re.compile(r"^\s*(\d{6})\s*$", re.M)


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def api():
    user = UserFactory(email="dana@example.org")
    ProfileFactory(user=user)
    _row, secret = account_services.api_token_create(user=user, name="test", lifetime=None)
    # A failure must show as the answer the person gets, not as an exception in the test.
    return Client(headers={"Authorization": f"Bearer {secret}"}, raise_request_exception=False)


def file_and_confirm(api, type):
    """File a request through the API, then confirm it with the e-mailed code."""
    filed = api.post("/api/v1/requests/", {"type": type}, content_type="application/json")
    assert filed.status_code == 201
    code = next(filter(None, (CODE.search(str(m.body)) for m in reversed(mail.outbox))))
    return api.post(
        f"/api/v1/requests/{filed.json()['public_id']}/verify/",
        {"code": code.group(1)},
        content_type="application/json",
    )


def test_a_copy_confirmed_while_a_connected_system_is_unreachable_answers_and_waits_for_the_sweep(
    api, monkeypatch
):
    ConnectedSystemFactory(url="http://127.0.0.1:9/connector")  # nothing listens there

    # The in-process worker's turn at the job finds the database locked (SQLite, a second
    # writer): the task asks to be retried later.
    def locked(*, job_id):
        raise OperationalError("database is locked")

    monkeypatch.setattr(connector_services, "dispatch", locked)
    confirmed = file_and_confirm(api, "copy")

    assert (confirmed.status_code, confirmed.json()["status"]) == (200, Status.WAITING_ON_SYSTEMS)
    job = ConnectorJob.objects.get()
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)
    # The connectors sweep of the schedule sends it; the system is still down, so it waits on.
    monkeypatch.undo()
    assert connector_services.sweep()["due"] == 1
    job.refresh_from_db()
    assert (job.status, job.attempts, job.last_error) == (JobStatus.QUEUED, 1, "connection_error")


def test_a_task_failing_in_process_is_logged_by_its_type_only_and_the_request_still_answers(
    api, monkeypatch, caplog
):
    def broken(request):
        raise RuntimeError("disk on fire for dana@example.org")

    monkeypatch.setattr("requests_dsar.engines.run_engine", broken)
    confirmed = file_and_confirm(api, "restrict")

    assert confirmed.status_code == 200
    # The failure is recorded on the request, where staff see it and can retry.
    assert DataSubjectRequest.objects.get().status == Status.FAILED
    assert "requests_dsar.tasks.process_request" in caplog.text
    assert "RuntimeError" in caplog.text and "dana@example.org" not in caplog.text
