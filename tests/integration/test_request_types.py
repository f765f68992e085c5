"""Every request type end to end on PostgreSQL, Redis and a live Celery worker process:
submit, verify, fulfil (by the worker), notify (over SMTP), deliver, and check the result
against the database."""

import datetime
import io
import json
import time
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLogEntry, Profile
from requests_dsar import services
from requests_dsar.downloads import download_url_for
from requests_dsar.export import transfer_token_issue
from requests_dsar.models import DataSubjectRequest, ErasureRecord, Status
from requests_dsar.selectors import live_archive_for
from requests_dsar.tasks import process_request
from tests.factories import ProfileFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_until_the_worker_is_idle(timeout: float = 60) -> None:
    """Until nothing is queued or running twice in a row: each request update becomes an inbox
    row and then an e-mail, written by the worker after the test saw what it waited for; the
    test database must not be flushed under those writes."""
    import redis
    from django.conf import settings

    from config.celery import app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and quiet < 2:
        queued = broker.llen(app.conf.task_default_queue)
        inspect = app.control.inspect(timeout=0.5)
        busy = [
            t for found in (inspect.active(), inspect.reserved()) for t in (found or {}).values()
        ]
        quiet = quiet + 1 if not queued and not any(busy) else 0
        time.sleep(0.2)


@pytest.fixture
def worker(celery_worker_process):
    yield celery_worker_process
    wait_until_the_worker_is_idle()


@pytest.fixture
def subject():
    user = UserFactory()
    ProfileFactory(user=user, nickname="nick-e2e-unique", occupation="Tester")
    AccessLogEntry.objects.create(
        user=user, ip_address="203.0.113.77", method="GET", path="/dashboard/", status_code=200
    )
    return user


def file(user, type, **kwargs):
    request, created = services.dsar_request_create(
        subject=user, requester=user, type=type, reauthenticated=True, **kwargs
    )
    assert created
    return request


def wait_for(request, *statuses, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.status in statuses:
            return request
        time.sleep(0.2)
    raise AssertionError(f"request stayed {request.status}, expected {statuses}")


def mails_to(smtp_sink, address, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in smtp_sink.messages if m["To"] == address]
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {count} e-mails to the requester")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def open_zip(response):
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def profile_rows(archive_zip):
    name = next(
        n for n in archive_zip.namelist() if n.startswith("profile/") and n.endswith(".json")
    )
    return json.loads(archive_zip.read(name))


def test_a_copy_is_built_by_the_worker_and_downloaded_by_its_owner(worker, smtp_sink, subject):
    before = len([m for m in smtp_sink.messages if m["To"] == subject.email])
    request = wait_for(file(subject, "copy"), Status.COMPLETED)
    archive = live_archive_for(request)
    response = signed_in(subject).get(download_url_for(archive))
    assert response.status_code == 200
    bundle = open_zip(response)
    assert profile_rows(bundle)[0]["nickname"] == Profile.objects.get(user=subject).nickname
    manifest = json.loads(bundle.read("manifest.json"))
    assert "index.html" in bundle.namelist() and manifest
    assert len(mails_to(smtp_sink, subject.email, before + 2)) >= before + 2  # received, done


def test_a_transfer_is_pulled_once_by_the_receiving_service(worker, subject):
    request = wait_for(file(subject, "transfer"), Status.COMPLETED)
    token = transfer_token_issue(archive=live_archive_for(request), actor=subject)
    pull = Client(headers={"Authorization": f"Transfer {token}"})
    first = pull.get("/api/v1/transfers/pull/")
    assert first.status_code == 200
    assert profile_rows(open_zip(first))[0]["nickname"] == "nick-e2e-unique"
    assert pull.get("/api/v1/transfers/pull/").status_code in (404, 410)


def test_access_shows_the_data_online(worker, subject):
    request = wait_for(file(subject, "access"), Status.COMPLETED)
    page = signed_in(subject).get(reverse("dsar:data", args=[request.public_id, "profile"]))
    assert "nick-e2e-unique" in page.content.decode()


@pytest.mark.parametrize("type", ["correct", "supplement"])
def test_a_correction_of_an_editable_field_is_applied_by_the_worker(worker, subject, type):
    changes = [{"field": "occupation", "value": f"Corrected by {type}"}]
    request = wait_for(file(subject, type, scope={"changes": changes}), Status.COMPLETED)
    assert Profile.objects.get(user=subject).occupation == f"Corrected by {type}"
    assert request.corrections.get().before == "Tester"


def test_a_restriction_stops_optional_processing_through_the_worker(worker, subject):
    wait_for(file(subject, "restrict"), Status.COMPLETED)
    assert Profile.objects.get(user=subject).optional_processing_stopped_at is not None


def test_a_consent_withdrawal_withdraws_every_optional_consent_through_the_worker(worker, subject):
    from consent import ledger
    from consent.models import Method
    from consent.services import consent_give
    from tests.factories import PurposeFactory

    purposes = PurposeFactory.create_batch(2)
    for purpose in purposes:
        consent_give(user=subject, purpose=purpose, method=Method.CONSENT_CENTER, actor=subject)
    wait_for(file(subject, "withdraw_consent"), Status.COMPLETED)
    states = ledger.state_for(ledger.user_subject_key(subject.pk), purposes)
    assert [s.decision for s in states] == ["withdrawn", "withdrawn"]


@pytest.mark.parametrize("type", ["question", "complaint"])
def test_a_question_or_complaint_reaches_staff_and_their_answer_completes_it(
    worker, smtp_sink, subject, type
):
    request = wait_for(file(subject, type, details="What do you hold?"), Status.AWAITING_APPROVAL)
    services.dsar_reply_and_close(request=request, actor=StaffFactory(), body="Your profile.")
    assert wait_for(request, Status.COMPLETED).messages.filter(from_staff=True).exists()
    assert mails_to(smtp_sink, subject.email, 1)


def test_a_deletion_after_its_cool_off_erases_the_account_through_the_worker(
    worker, smtp_sink, subject
):
    email = subject.email
    request = file(subject, "delete")
    assert wait_for(request, Status.PENDING).act_after > timezone.now()
    # The cool-off ends (the worker runs with the default seven days): the sweep's wake-up.
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        act_after=timezone.now() - datetime.timedelta(seconds=1)
    )
    process_request.delay(request.pk)
    wait_for(request, Status.COMPLETED)
    assert ErasureRecord.objects.filter(request=request).exists()
    assert not AccessLogEntry.objects.filter(ip_address="203.0.113.77").exists()
    assert mails_to(smtp_sink, email, 1)
    subject.refresh_from_db()
    assert subject.email != email and not subject.is_active
