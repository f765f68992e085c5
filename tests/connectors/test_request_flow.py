"""Requests and their connected systems: a request waits for every system in its scope, the
archive carries each system's data, the erasure record each system's confirmation, staff are
told of a stuck system by name, and the requester sees how far it got. The HTTP seam
(http_connector.send_job) is replaced; tests/integration/test_connectors.py runs the real one."""

import hashlib
import html
import io
import json
import zipfile
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from connectors import services
from connectors.http_connector import Outcome
from connectors.models import ConnectorJob, JobStatus, RequesterReason
from connectors.results import Result
from requests_dsar import export, sweeps
from requests_dsar import services as dsar_services
from requests_dsar.models import DataSubjectRequest, ErasureRecord, Status
from requests_dsar.workflow import can_cancel
from tests.connectors.factories import ConnectedSystemFactory, ConnectorJobFactory
from tests.factories import PrivacyOfficerFactory, ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

SEND = "connectors.http_connector.send_job"
PLAYS = [{"track": "Blue in Green", "played_at": "2026-11-01T10:00:00Z"}]


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def subject():
    user = UserFactory()
    ProfileFactory(user=user)
    return user


def file_request(user, type, **scope):
    request, _created = dsar_services.dsar_request_create(
        subject=user, requester=user, type=type, scope=scope or None, reauthenticated=True
    )
    return request


def process(request, capture):
    """The worker's turn at the request, and at every job the turn sends out."""
    with capture(execute=True):
        dsar_services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    return request


def exported(data):
    return Outcome("result", result=Result(status="done", data=data))


def accepted():
    return Outcome("accepted")


def open_archive(request):
    archive = request.archives.get()
    return zipfile.ZipFile(io.BytesIO(b"".join(export.archive_open_decrypted(archive))))


def test_a_copy_request_waits_for_its_systems_and_the_archive_holds_their_data(
    subject, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(key="product", name="Product")
    request = file_request(subject, "copy")

    with mock.patch(SEND, return_value=exported({"play_history": PLAYS})):
        request = process(request, django_capture_on_commit_callbacks)

    # The system answered at once: its result woke the request, which completed.
    assert request.status == Status.COMPLETED
    zf = open_archive(request)
    assert json.loads(zf.read("systems/product/play_history.json")) == PLAYS
    manifest = json.loads(zf.read("manifest.json"))
    (system,) = manifest["systems"]
    assert (system["name"], system["files"][0]["rows"]) == ("Product", 1)
    assert "systems/product/play_history.json" in {f["name"] for f in manifest["files"]}


def test_a_request_stays_open_until_a_system_that_answers_later_has_answered(
    subject, django_capture_on_commit_callbacks
):
    system = ConnectedSystemFactory()
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=accepted()):
        request = process(request, django_capture_on_commit_callbacks)
    job = ConnectorJob.objects.get(request=request)
    assert (request.status, job.status) == (Status.WAITING_ON_SYSTEMS, JobStatus.WAITING)
    assert not request.archives.exists()

    # The system's signed callback arrives: the request is woken up and completes.
    with django_capture_on_commit_callbacks(execute=True):
        services.callback_receive(
            system=system,
            job_id=str(job.pk),
            payload={"job_id": str(job.pk), "status": "done", "data": {"account": [{"a": 1}]}},
        )

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert json.loads(open_archive(request).read(f"systems/{system.key}/account.json")) == [
        {"a": 1}
    ]


def test_a_request_with_no_system_in_scope_completes_without_waiting(
    subject, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(request_types=["delete"])

    request = process(file_request(subject, "copy"), django_capture_on_commit_callbacks)

    assert request.status == Status.COMPLETED
    assert not request.events.filter(to_status=Status.WAITING_ON_SYSTEMS).exists()


def _excepted_copy(subject, capture, **answer):  # type: ignore[no-untyped-def]
    """A copy whose only system failed and was excepted by an officer: its archive."""
    ConnectedSystemFactory(key="vendor", name="Vendor")
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=Outcome("fail", "http_400")):
        request = process(request, capture)
    assert request.status == Status.WAITING_ON_SYSTEMS

    job = ConnectorJob.objects.get(request=request)
    with capture(execute=True):
        services.job_except(
            job=job,
            reason="Contract ended in 2025; Dana in legal says their dump names other users.",
            officer=PrivacyOfficerFactory(),
            **answer,
        )
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    return open_archive(request)


def test_an_excepted_system_lets_the_request_complete_and_the_archive_gives_the_requesters_reason(
    subject, django_capture_on_commit_callbacks
):
    archive = _excepted_copy(
        subject, django_capture_on_commit_callbacks, requester_reason=RequesterReason.OTHERS_RIGHTS
    )
    (system,) = json.loads(archive.read("manifest.json"))["systems"]
    assert system["note"] == f"Not included: {RequesterReason.OTHERS_RIGHTS.label}"
    index = archive.read("index.html").decode()
    assert html.escape(str(RequesterReason.OTHERS_RIGHTS.label)) in index
    # Staff's own reason stays with staff, and no systems/ folder is promised.
    for member in ("manifest.json", "index.html"):
        assert "Dana" not in archive.read(member).decode()
    assert not any(name.startswith("systems/") for name in archive.namelist())
    assert "<code>systems</code> folder" not in index


def test_an_officer_may_word_the_requesters_reason_themselves(
    subject, django_capture_on_commit_callbacks
):
    archive = _excepted_copy(
        subject,
        django_capture_on_commit_callbacks,
        requester_reason=RequesterReason.UNAVAILABLE,
        requester_text="Our music-licensing partner is closing down; its part cannot be had.",
    )
    (system,) = json.loads(archive.read("manifest.json"))["systems"]
    assert system["note"] == (
        "Not included: Our music-licensing partner is closing down; its part cannot be had."
    )


def test_excepting_a_system_needs_the_reason_the_requester_is_told():
    job = ConnectorJobFactory(status=JobStatus.FAILED)
    with pytest.raises(ValidationError) as refused:
        services.job_except(
            job=job, reason="Vendor gone.", officer=PrivacyOfficerFactory(), requester_reason=""
        )
    assert "requester_reason" in refused.value.message_dict
    assert ConnectorJob.objects.get(pk=job.pk).status == JobStatus.FAILED


def test_a_deletion_erases_at_the_systems_first_and_the_record_keeps_their_confirmations(
    subject, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(key="product", name="Product")
    request = file_request(subject, "delete")
    DataSubjectRequest.objects.filter(pk=request.pk).update(act_after=None)
    erased = Outcome(
        "result",
        result=Result(status="done", counts={"play_history": 12}, confirmation="erasure-4411"),
    )

    with mock.patch(SEND, return_value=erased):
        request = process(request, django_capture_on_commit_callbacks)

    assert request.status == Status.COMPLETED
    (line,) = ErasureRecord.objects.get(request=request).systems
    assert (line["system"], line["counts"], line["confirmation"]) == (
        "Product",
        {"play_history": 12},
        "erasure-4411",
    )
    assert line["confirmation_sha256"] == hashlib.sha256(b"erasure-4411").hexdigest()
    # The job's own copy went with the subject's data; the proof stays in the record.
    assert ConnectorJob.objects.get(request=request).confirmation == ""


def test_a_deletion_waiting_on_its_systems_can_no_longer_be_cancelled(
    subject, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory()
    request = file_request(subject, "delete")
    DataSubjectRequest.objects.filter(pk=request.pk).update(act_after=None)

    with mock.patch(SEND, return_value=accepted()):
        request = process(request, django_capture_on_commit_callbacks)

    assert request.status == Status.WAITING_ON_SYSTEMS
    assert not can_cancel(request)


def test_staff_are_told_once_which_system_a_request_is_stuck_at(
    subject, django_capture_on_commit_callbacks, settings
):
    PrivacyOfficerFactory(email="dpo@example.org")
    ConnectedSystemFactory(name="Support desk")
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=Outcome("fail", "http_400")):
        process(request, django_capture_on_commit_callbacks)
    mail.outbox.clear()

    services.sweep()
    services.sweep()

    stuck = [m for m in mail.outbox if "stuck at a connected system" in m.subject]
    assert len(stuck) == 1
    assert f"request #{request.pk}: Support desk (failed, http_400)" in stuck[0].body


def test_a_deadline_warning_names_the_systems_a_request_still_waits_on(
    subject, django_capture_on_commit_callbacks, settings
):
    PrivacyOfficerFactory(email="dpo@example.org")
    ConnectedSystemFactory(name="Product")
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=accepted()):
        request = process(request, django_capture_on_commit_callbacks)
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        due_at=request.verified_at + (request.due_at - request.verified_at) / 15
    )
    mail.outbox.clear()

    sweeps.sweep()

    (warning,) = [m for m in mail.outbox if "due within" in m.subject]
    assert f"request #{request.pk}: Product (accepted, waiting for the result)" in warning.body


def test_a_lost_wake_up_is_made_good_by_the_sweep(subject, django_capture_on_commit_callbacks):
    ConnectedSystemFactory()
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=accepted()):
        request = process(request, django_capture_on_commit_callbacks)
    # The job settles but its wake-up never reaches a worker (the broker lost it).
    ConnectorJob.objects.filter(request=request).update(status=JobStatus.DONE)

    with django_capture_on_commit_callbacks(execute=True):
        services.sweep()

    request.refresh_from_db()
    assert request.status == Status.COMPLETED


def test_the_requester_sees_how_many_systems_are_done(
    subject, client, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(name="Product")
    ConnectedSystemFactory(name="Support desk")
    request = file_request(subject, "copy")
    with mock.patch(SEND, side_effect=[exported({"account": []}), accepted()]):
        process(request, django_capture_on_commit_callbacks)
    client.force_login(subject)

    page = client.get(reverse("dsar:detail", args=[request.public_id])).content.decode()
    api = client.get(reverse("api:request", args=[request.public_id])).json()

    assert "1 of 2 systems done" in page
    assert api["systems"]["text"] == "1 of 2 systems done"
    assert [s["status"] for s in api["systems"]["systems"]] == ["done", "waiting"]


# --- Consent withdrawn outside a request -------------------------------------------------------


def give_then_withdraw(user, purpose, capture):
    from consent.models import Method
    from consent.services import consent_give, consent_withdraw

    consent_give(user=user, purpose=purpose, method=Method.CONSENT_CENTER, actor=user)
    with capture(execute=True):
        consent_withdraw(user=user, purpose=purpose, method=Method.CONSENT_CENTER, actor=user)


def test_a_withdrawal_in_the_consent_centre_is_pushed_to_the_systems_serving_the_purpose(
    subject, django_capture_on_commit_callbacks
):
    from tests.factories import PurposeFactory

    marketing, ads = PurposeFactory(key="marketing"), PurposeFactory(key="ads")
    serving = ConnectedSystemFactory(name="Mailer")
    serving.purposes.add(marketing)
    ConnectedSystemFactory(name="Ad server").purposes.add(ads)
    done = Outcome("result", result=Result(status="done", counts={"marketing_flags": 1}))

    with mock.patch(SEND, return_value=done) as send:
        give_then_withdraw(subject, marketing, django_capture_on_commit_callbacks)

    # One request the portal filed, scoped to the purpose, sent to the serving system only.
    request = DataSubjectRequest.objects.get(subject=subject)
    assert (request.type, request.scope, request.status) == (
        "withdraw_consent",
        {"purposes": ["marketing"]},
        Status.COMPLETED,
    )
    (payload,) = [call.args[1] for call in send.call_args_list]
    assert (payload["type"], payload["scope"]["purposes"]) == ("withdraw_consent", ["marketing"])
    sent_to = ConnectorJob.objects.exclude(status=JobStatus.NOT_APPLICABLE).get().system
    assert sent_to == serving


def test_a_withdrawal_no_system_serves_files_nothing(subject, django_capture_on_commit_callbacks):
    from tests.factories import PurposeFactory

    ConnectedSystemFactory().purposes.add(PurposeFactory(key="ads"))

    give_then_withdraw(subject, PurposeFactory(key="marketing"), django_capture_on_commit_callbacks)

    assert not DataSubjectRequest.objects.exists()


def test_a_withdrawal_request_withdraws_and_pushes_without_filing_another(
    subject, django_capture_on_commit_callbacks
):
    from consent import ledger
    from consent.models import Method
    from consent.services import consent_give
    from tests.factories import PurposeFactory

    marketing = PurposeFactory(key="marketing")
    ConnectedSystemFactory().purposes.add(marketing)
    consent_give(user=subject, purpose=marketing, method=Method.CONSENT_CENTER, actor=subject)
    request = file_request(subject, "withdraw_consent")
    done = Outcome("result", result=Result(status="done", counts={}))

    with mock.patch(SEND, return_value=done):
        request = process(request, django_capture_on_commit_callbacks)

    (state,) = ledger.state_for(ledger.user_subject_key(subject.pk), [marketing])
    assert (request.status, state.allowed) == (Status.COMPLETED, False)
    assert DataSubjectRequest.objects.count() == 1


def test_a_confirmation_that_reads_as_text_is_kept_only_as_its_hash(
    subject, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(key="desk", name="Desk")
    request = file_request(subject, "delete")
    DataSubjectRequest.objects.filter(pk=request.pk).update(act_after=None)
    wordy = f"Erased tickets of {subject.email}"
    erased = Outcome("result", result=Result(status="done", counts={}, confirmation=wordy))

    with mock.patch(SEND, return_value=erased):
        request = process(request, django_capture_on_commit_callbacks)

    (line,) = ErasureRecord.objects.get(request=request).systems
    assert line["confirmation"] == ""
    assert line["confirmation_sha256"] == hashlib.sha256(wordy.encode()).hexdigest()
    assert subject.email not in json.dumps(ErasureRecord.objects.get(request=request).systems)


def test_a_cancelled_request_stops_asking_its_systems_and_drops_what_they_returned(
    subject, client, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(name="Product")
    ConnectedSystemFactory(name="Support desk")
    request = file_request(subject, "copy")
    with mock.patch(SEND, side_effect=[exported({"account": [{"a": 1}]}), accepted()]):
        request = process(request, django_capture_on_commit_callbacks)
    done = ConnectorJob.objects.get(request=request, status=JobStatus.DONE)
    stored = done.result_storage_name
    assert default_storage.exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        dsar_services.dsar_cancel(request=request, actor=subject)

    statuses = set(ConnectorJob.objects.filter(request=request).values_list("status", flat=True))
    assert statuses == {JobStatus.DONE, JobStatus.NOT_APPLICABLE}
    assert not default_storage.exists(stored)
    with mock.patch(SEND) as send:
        for job in ConnectorJob.objects.filter(request=request):
            services.dispatch(job_id=job.pk)
    send.assert_not_called()


def test_a_withdrawal_request_never_overrides_a_choice_made_after_it(
    subject, django_capture_on_commit_callbacks
):
    from consent import ledger
    from consent.models import Method
    from consent.services import consent_give
    from tests.factories import PurposeFactory

    marketing = PurposeFactory(key="marketing")
    ConnectedSystemFactory().purposes.add(marketing)
    # Withdrawn in the consent centre: the portal tells the system, which answers later.
    with mock.patch(SEND, return_value=accepted()):
        give_then_withdraw(subject, marketing, django_capture_on_commit_callbacks)
    request = DataSubjectRequest.objects.get(subject=subject)
    assert request.status == Status.WAITING_ON_SYSTEMS
    # The user gives it again before the system has answered.
    consent_give(user=subject, purpose=marketing, method=Method.CONSENT_CENTER, actor=subject)

    job = ConnectorJob.objects.get(request=request, status=JobStatus.WAITING)
    with django_capture_on_commit_callbacks(execute=True):
        services.callback_receive(
            system=job.system,
            job_id=str(job.pk),
            payload={"job_id": str(job.pk), "status": "done", "counts": {}},
        )

    request.refresh_from_db()
    (state,) = ledger.state_for(ledger.user_subject_key(subject.pk), [marketing])
    assert (request.status, state.allowed) == (Status.COMPLETED, True)


def test_a_job_sent_again_after_an_alert_is_told_again_if_it_stalls_again(
    subject, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    PrivacyOfficerFactory(email="dpo@example.org")
    ConnectedSystemFactory(name="Support desk")
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=Outcome("fail", "http_400")):
        process(request, django_capture_on_commit_callbacks)
    services.sweep()  # told once
    job = ConnectorJob.objects.get(request=request)
    assert job.stuck_alerted_at is not None

    # Sent again (its system is back), it fails again: that is a new stall.
    ConnectorJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    with mock.patch(SEND, return_value=Outcome("fail", "http_400")):
        services.dispatch(job_id=job.pk)
    mail.outbox.clear()
    services.alert_stuck_systems(timezone.now())

    assert [m for m in mail.outbox if "stuck at a connected system" in m.subject]


def test_the_requester_sees_a_system_is_slow_and_when_it_is_tried_again(
    subject, django_capture_on_commit_callbacks
):
    ConnectedSystemFactory(key="vendor", name="Vendor Analytics Ltd")
    request = file_request(subject, "copy")
    with mock.patch(SEND, return_value=Outcome("retry", "connection_error")):
        request = process(request, django_capture_on_commit_callbacks)
    assert request.status == Status.WAITING_ON_SYSTEMS
    job = ConnectorJob.objects.get(request=request)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 1)

    client = Client()
    client.force_login(subject)
    url = reverse("dsar:detail", args=[request.public_id])
    page = client.get(url)
    text = page.content.decode()
    assert "One of them is slow to answer" in text
    assert f'datetime="{job.next_attempt_at.isoformat()}"' in text
    assert f'datetime="{request.due_at.isoformat()}"' in text
    assert "Vendor Analytics Ltd: delayed, we keep trying" in text
    assert "connection_error" not in text and "queued" not in text

    # The page reloads itself once the system answered, though the status stays the same.
    state = page.context["poll_state"]
    poll = {"poll": state}
    assert client.get(url, poll, headers={"HX-Request": "true"}).status_code == 204
    ConnectorJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert client.get(url, poll, headers={"HX-Request": "true"}).headers["HX-Refresh"] == "true"
