"""A request's child jobs: who gets one, what is sent, and how results, retries and the
circuit breaker move them. The HTTP seam (http_connector.send_job) is replaced here; the real
protocol runs against the example service in tests/integration/test_connectors.py."""

import datetime
import json
from unittest import mock

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import timezone

from connectors import configuration, selectors, services, vault
from connectors.http_connector import Outcome
from connectors.models import ConnectorJob, JobStatus, ManualTask
from connectors.results import Result
from core.models import AuditLogEntry
from tests.connectors.factories import (
    ConnectedSystemFactory,
    ConnectorJobFactory,
    ManualSystemFactory,
)
from tests.factories import DataSubjectRequestFactory, PrivacyOfficerFactory, PurposeFactory

pytestmark = pytest.mark.django_db

SEND = "connectors.http_connector.send_job"


def sealed(job):
    return json.loads(vault.unseal(job.subject_sealed))


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- Which systems a request reaches ---------------------------------------------------------


def test_every_enabled_system_gets_one_job_however_often_the_fan_out_runs():
    systems = ConnectedSystemFactory.create_batch(2)
    ConnectedSystemFactory(enabled=False)
    request = DataSubjectRequestFactory(type="copy")

    services.jobs_for_request(request=request)
    jobs = services.jobs_for_request(request=request)

    assert sorted(job.system_id for job in jobs) == sorted(s.pk for s in systems)
    assert ConnectorJob.objects.count() == 2


def test_a_system_outside_the_requested_categories_is_not_applicable():
    ConnectedSystemFactory(categories=["purchases"])
    request = DataSubjectRequestFactory(type="delete", scope={"categories": ["play_history"]})

    (job,) = services.jobs_for_request(request=request)

    assert job.status == JobStatus.NOT_APPLICABLE
    assert job.subject_sealed == ""


def test_a_system_not_in_scope_for_the_request_type_is_not_applicable():
    ConnectedSystemFactory(request_types=["delete"])

    (job,) = services.jobs_for_request(request=DataSubjectRequestFactory(type="access"))

    assert job.status == JobStatus.NOT_APPLICABLE


def test_a_system_gets_only_the_identifiers_it_knows_the_subject_by():
    ConnectedSystemFactory(identifiers=["hashed_id"])
    request = DataSubjectRequestFactory(type="copy", subject_hash="f" * 64)

    (job,) = services.jobs_for_request(request=request)

    assert sealed(job) == {"identifiers": {"hashed_id": "f" * 64}}
    assert request.subject.email not in job.subject_sealed


def test_a_system_knowing_the_subject_by_nothing_the_portal_has_fails_visibly():
    ConnectedSystemFactory(identifiers=["phone"])

    (job,) = services.jobs_for_request(request=DataSubjectRequestFactory(type="copy"))

    assert (job.status, job.last_error) == (JobStatus.FAILED, "no_known_identifier")


def test_consent_withdrawal_reaches_only_systems_serving_an_optional_purpose():
    serving = ConnectedSystemFactory()
    serving.purposes.add(PurposeFactory(key="marketing", is_optional=True))
    ConnectedSystemFactory().purposes.add(PurposeFactory(key="billing", is_optional=False))

    jobs = services.jobs_for_request(request=DataSubjectRequestFactory(type="withdraw_consent"))

    statuses = {job.system_id: job.status for job in jobs}
    assert statuses.pop(serving.pk) == JobStatus.QUEUED
    assert set(statuses.values()) == {JobStatus.NOT_APPLICABLE}
    assert next(j for j in jobs if j.system_id == serving.pk).scope["purposes"] == ["marketing"]


def test_questions_and_complaints_reach_no_system():
    ConnectedSystemFactory()

    assert services.jobs_for_request(request=DataSubjectRequestFactory(type="question")) == []


def test_the_job_sent_carries_its_own_id_the_request_and_a_callback_url():
    job = ConnectorJobFactory()

    payload = services.protocol_payload(job, sealed(job))

    assert payload["job_id"] == str(job.pk)
    assert payload["request_id"] == str(job.request.public_id)
    assert payload["callback_url"].endswith("/api/v1/connectors/callback/")
    assert payload["identifiers"] == {"email": job.request.subject.email}


# --- Sending and results -----------------------------------------------------------------------


def test_an_export_result_is_stored_encrypted_and_the_identifiers_are_dropped():
    job = ConnectorJobFactory()
    data = {"play_history": [{"track": "Teardrop"}, {"track": "Blue in Green"}]}
    with mock.patch(SEND, return_value=Outcome("result", result=Result("done", data=data))):
        services.dispatch(job_id=job.pk)

    job = fresh(job)
    assert job.status == JobStatus.DONE
    assert job.result_summary["counts"] == {"play_history": 2}
    with default_storage.open(job.result_storage_name, "rb") as at_rest:
        assert b"Teardrop" not in at_rest.read()
    assert selectors.job_result_data(job) == data
    assert job.subject_sealed == ""


def test_a_redelivered_dispatch_sends_nothing_twice():
    job = ConnectorJobFactory()
    with mock.patch(SEND, return_value=Outcome("accepted")) as send:
        services.dispatch(job_id=job.pk)
        services.dispatch(job_id=job.pk)

    assert send.call_count == 1
    assert fresh(job).status == JobStatus.WAITING


def test_a_failed_send_is_retried_later_with_exponential_backoff():
    job = ConnectorJobFactory(system__retry_base_seconds=10)
    with (
        mock.patch(SEND, return_value=Outcome("retry", "http_500")),
        time_machine.travel("2026-05-01 12:00Z", tick=False),
    ):
        services.dispatch(job_id=job.pk)
        first = fresh(job)
        ConnectorJob.objects.filter(pk=job.pk).update(next_attempt_at=None)
        services.dispatch(job_id=job.pk)
        second = fresh(job)

    assert (first.status, first.last_error) == (JobStatus.QUEUED, "http_500")
    assert first.next_attempt_at == timezone.now().replace(2026, 5, 1, 12, 0, 10, 0)
    assert second.next_attempt_at - first.next_attempt_at == datetime.timedelta(seconds=10)


def test_a_job_is_not_sent_before_its_retry_time():
    job = ConnectorJobFactory(next_attempt_at=timezone.now() + datetime.timedelta(minutes=5))
    with mock.patch(SEND) as send:
        services.dispatch(job_id=job.pk)

    assert not send.called


def test_a_job_fails_after_the_systems_maximum_attempts():
    job = ConnectorJobFactory(system__max_attempts=2, system__failure_threshold=50)
    with mock.patch(SEND, return_value=Outcome("retry", "timeout")):
        for _ in range(2):
            services.dispatch(job_id=job.pk)
            ConnectorJob.objects.filter(pk=job.pk).update(next_attempt_at=None)

    job = fresh(job)
    assert (job.status, job.attempts, job.last_error) == (JobStatus.FAILED, 2, "timeout")


def test_a_refusal_that_a_retry_cannot_fix_fails_at_once():
    job = ConnectorJobFactory()
    with mock.patch(SEND, return_value=Outcome("fail", "http_401")):
        services.dispatch(job_id=job.pk)

    assert (fresh(job).status, fresh(job).attempts) == (JobStatus.FAILED, 1)


def test_errors_are_recorded_as_codes_never_with_personal_values():
    job = ConnectorJobFactory()
    email = job.request.subject.email
    with mock.patch(SEND, side_effect=KeyError(email)):
        services.dispatch(job_id=job.pk)

    assert fresh(job).last_error == "KeyError"
    assert not AuditLogEntry.objects.filter(data__icontains=email).exists()


def test_after_a_rotation_jobs_are_signed_with_the_new_key_id_and_secret():
    job = ConnectorJobFactory(system__key="product", system__secret_version=1)
    configuration.connected_system_save(
        system=job.system, actor=PrivacyOfficerFactory(), new_secret="n" * 40
    )
    with mock.patch(SEND, return_value=Outcome("accepted")) as send:
        services.dispatch(job_id=job.pk)

    assert (send.call_args.kwargs["key_id"], send.call_args.kwargs["secret"]) == (
        "product.2",
        "n" * 40,
    )


# --- The circuit breaker -----------------------------------------------------------------------


def test_the_breaker_opens_after_consecutive_failures_and_holds_jobs_without_counting_them():
    system = ConnectedSystemFactory(failure_threshold=2, cooldown_seconds=60)
    jobs = ConnectorJobFactory.create_batch(3, system=system)
    with mock.patch(SEND, return_value=Outcome("retry", "connection_error")) as send:
        for job in jobs:
            services.dispatch(job_id=job.pk)

    held = fresh(jobs[2])
    assert send.call_count == 2
    assert fresh(system).breaker_open
    assert (held.status, held.attempts, held.last_error) == (JobStatus.QUEUED, 0, "circuit_open")


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes_the_breaker():
    system = ConnectedSystemFactory(
        consecutive_failures=5, open_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    job = ConnectorJobFactory(system=system)
    with mock.patch(SEND, return_value=Outcome("accepted")):
        services.dispatch(job_id=job.pk)

    system = fresh(system)
    assert (system.consecutive_failures, system.open_until) == (0, None)
    assert fresh(job).status == JobStatus.WAITING


def test_a_failed_probe_keeps_the_breaker_open_for_another_cool_down():
    system = ConnectedSystemFactory(
        failure_threshold=3,
        consecutive_failures=3,
        cooldown_seconds=60,
        open_until=timezone.now() - datetime.timedelta(seconds=1),
    )
    job = ConnectorJobFactory(system=system)
    with mock.patch(SEND, return_value=Outcome("retry", "timeout")):
        services.dispatch(job_id=job.pk)

    assert fresh(system).open_until > timezone.now() + datetime.timedelta(seconds=50)


# --- The sweep ---------------------------------------------------------------------------------


def test_the_sweep_queues_again_a_job_a_dead_worker_left_claimed(settings):
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.CONNECTOR_STALLED_AFTER_SECONDS)
    job = ConnectorJobFactory(status=JobStatus.SENT, attempts=1, claimed_at=long_ago)
    with mock.patch("connectors.tasks.dispatch_job.delay") as delay:
        counts = services.sweep()

    assert counts["stalled"] == 1
    assert fresh(job).status == JobStatus.QUEUED
    delay.assert_called_with(str(job.pk))


def test_the_sweep_sends_again_a_job_whose_callback_never_came(settings):
    sent = timezone.now() - datetime.timedelta(
        hours=settings.CONNECTOR_CALLBACK_WAIT_HOURS, seconds=1
    )
    job = ConnectorJobFactory(status=JobStatus.WAITING, attempts=1, sent_at=sent)
    with mock.patch("connectors.tasks.dispatch_job.delay"):
        services.sweep()

    assert (fresh(job).status, fresh(job).last_error) == (JobStatus.QUEUED, "no_callback")


# --- Progress and exceptions -------------------------------------------------------------------


def test_progress_counts_done_and_excepted_systems_out_of_those_in_scope():
    request = DataSubjectRequestFactory(type="copy")
    for status in ("done", "done", "excepted", "waiting", "not_applicable"):
        ConnectorJobFactory(request=request, status=status, excepted_reason="Vendor gone")

    progress = selectors.request_progress(request)

    assert progress.text == "3 of 4 systems done"
    assert not progress.complete


def test_a_privacy_officer_excepts_a_system_with_a_reason_and_it_counts_as_settled():
    job = ConnectorJobFactory(status=JobStatus.FAILED)

    services.job_except(
        job=job,
        reason="The vendor closed our account.",
        officer=PrivacyOfficerFactory(),
        requester_reason="unavailable",
    )

    assert fresh(job).status == JobStatus.EXCEPTED
    assert selectors.request_progress(job.request).complete


def test_only_a_privacy_officer_may_except_a_system():
    from django.core.exceptions import PermissionDenied

    from tests.factories import SupportAgentFactory

    job = ConnectorJobFactory(status=JobStatus.FAILED)
    with pytest.raises(PermissionDenied):
        services.job_except(
            job=job, reason="No.", officer=SupportAgentFactory(), requester_reason="unavailable"
        )


def test_a_manual_system_job_opens_one_staff_task_with_the_requests_deadline():
    job = ConnectorJobFactory(system=ManualSystemFactory(name="Support desk"))
    services.dispatch(job_id=job.pk)
    services.dispatch(job_id=job.pk)  # redelivered: no second task

    (task,) = ManualTask.objects.filter(job=job)
    assert fresh(job).status == JobStatus.WAITING
    assert (task.due_at, task.completed_at) == (job.request.due_at, None)
    assert task.instructions.startswith("Find every record of this person in Support desk")
