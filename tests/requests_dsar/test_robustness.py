"""What must hold when things go wrong: crashes, races, late changes, bad configuration."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.utils import timezone

from requests_dsar import services, sweeps
from requests_dsar.models import DataSubjectRequest, RequestEvent, Status
from requests_dsar.workflow import TransitionNotAllowed, can_cancel
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def file(user, type="restrict", **kwargs):
    kwargs.setdefault("reauthenticated", True)
    request, _ = services.dsar_request_create(subject=user, requester=user, type=type, **kwargs)
    return request


def test_a_lost_database_connection_sends_the_request_back_to_be_retried(user, monkeypatch):
    def drops(request):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr("requests_dsar.engines.run_engine", drops)
    request = file(user)
    with pytest.raises(OperationalError):
        services.dsar_process(request_id=request.pk)
    # Pending again (the task retries with backoff), not failed.
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.PENDING


def test_an_older_attempt_cannot_complete_a_request_a_newer_attempt_owns(user, monkeypatch):
    request = file(user)

    def overtaken(req):
        # While this attempt runs, the sweep hands the work to a newer attempt.
        DataSubjectRequest.objects.filter(pk=req.pk).update(attempts=req.attempts + 1)

    monkeypatch.setattr("requests_dsar.engines.run_engine", overtaken)
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert not RequestEvent.objects.filter(request=request, to_status="completed").exists()


def test_work_in_progress_cannot_be_cancelled_by_the_requester(user):
    request = file(user)
    services.dsar_transition(request=request, to=Status.IN_PROGRESS, actor=None)
    assert not can_cancel(request)
    with pytest.raises(TransitionNotAllowed):
        services.dsar_cancel(request=request, actor=user)


def test_a_deletion_a_worker_started_cannot_be_cancelled_even_after_a_failure(user):
    request = file(user, type="delete")
    services.dsar_transition(request=request, to=Status.IN_PROGRESS, actor=None, attempts=1)
    services.dsar_transition(request=request, to=Status.FAILED, actor=None)
    with pytest.raises(TransitionNotAllowed):
        services.dsar_cancel(request=request, actor=user)


def test_a_request_with_another_scope_is_a_request_of_its_own(user):
    partial = file(user, type="copy", scope={"categories": ["profile"]})
    whole, created = services.dsar_request_create(
        subject=user, requester=user, type="copy", reauthenticated=True
    )
    assert created and whole.pk != partial.pk


def test_a_deadline_that_has_passed_cannot_be_extended(user):
    request = file(user, type="question", details="?")
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() - datetime.timedelta(days=1)
    )
    request.refresh_from_db()
    with pytest.raises(ValidationError, match="passed"):
        services.dsar_extend(request=request, actor=StaffFactory(), reason="Late", days=5)


def test_an_extension_clears_the_overdue_flag_so_the_new_deadline_is_watched(user):
    request = file(user, type="question", details="?")
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        overdue_flagged_at=timezone.now(), due_at=timezone.now() + datetime.timedelta(hours=2)
    )
    request.refresh_from_db()
    services.dsar_extend(request=request, actor=StaffFactory(), reason="Busy", days=3)
    assert DataSubjectRequest.objects.get(pk=request.pk).overdue_flagged_at is None


def test_staff_can_ask_for_clarification_while_a_request_awaits_them(user):
    request = file(user, type="question", details="?")
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    services.dsar_ask_clarification(request=request, actor=StaffFactory(), message="Which?")
    assert request.status == Status.NEEDS_CLARIFICATION


def test_a_deadline_warning_that_could_not_be_sent_is_tried_again(settings, monkeypatch):
    settings.DSAR_WARNING_DAYS = [5]
    StaffFactory()
    request = file(UserFactory(), type="question", details="?")
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + datetime.timedelta(days=3)
    )

    def mail_down(**kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(sweeps, "warn_staff", mail_down)
    with pytest.raises(OSError):
        sweeps.sweep()
    assert DataSubjectRequest.objects.get(pk=request.pk).warned_threshold_days is None


def test_malformed_jurisdiction_deadlines_stop_the_portal_at_start_up():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DSAR_JURISDICTION_DEADLINES"] = '{"DE": {"weeks": 2}}'
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DSAR_JURISDICTION_DEADLINES" in result.stderr


def test_an_archive_built_for_a_request_closed_meanwhile_is_discarded(user, monkeypatch):
    from requests_dsar import export

    request = file(user, type="copy")

    def export_then_closed(req):
        export.fulfil_export(req)
        # Meanwhile the account was erased and this request closed by the system.
        services.dsar_transition(
            request=DataSubjectRequest.objects.get(pk=req.pk), to=Status.CANCELLED, actor=None
        )

    monkeypatch.setattr("requests_dsar.engines.run_engine", export_then_closed)
    services.dsar_process(request_id=request.pk)
    assert not request.archives.filter(deleted_at__isnull=True).exists()
