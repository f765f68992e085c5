"""Erasure on the real parts: a live Celery worker on PostgreSQL and Redis, one killed midway."""

import datetime
import secrets
import signal
import time
import uuid

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import AccessLogEntry, User
from core.models import AuditLogEntry
from requests_dsar import services, sweeps
from requests_dsar.erasure import CONFIRMATION_SENT
from requests_dsar.models import DataSubjectRequest, ErasureRecord, RequestEvent, Status
from requests_dsar.tasks import process_request
from tests.conftest import start_worker
from tests.requests_dsar.residue import find_residue, rich_account

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout=120.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {condition.__name__}")
        time.sleep(interval)
    return result


def fresh(request):
    return DataSubjectRequest.objects.get(pk=request.pk)


def file_deletion_past_its_cool_off(user):
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type="delete", reauthenticated=True
    )
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        act_after=timezone.now() - datetime.timedelta(minutes=1)
    )
    return request


def confirmations(smtp_sink, address):
    return [m for m in smtp_sink.messages if m["To"] == address and "being deleted" in m["Subject"]]


def assert_erased_exactly_once(request, smtp_sink, address):
    assert ErasureRecord.objects.filter(request=request).count() == 1
    assert RequestEvent.objects.filter(request=request, to_status=Status.COMPLETED).count() == 1
    erased = AuditLogEntry.objects.filter(action="dsar.erased", target_id=str(request.pk))
    assert erased.count() == 1
    assert len(confirmations(smtp_sink, address)) == 1


def test_the_worker_erases_a_deletion_exactly_once_despite_a_duplicate_delivery(
    celery_worker_process, smtp_sink
):
    account = rich_account()
    request = file_deletion_past_its_cool_off(account.user)

    # The sweep's wake-up and a duplicate delivery of it (autocommit: sent at once).
    process_request.delay(request.pk)
    process_request.delay(request.pk)

    def completed():
        return fresh(request).status == Status.COMPLETED

    wait_for(completed)
    time.sleep(2)  # the solo worker takes the duplicate next: give it time to (not) act
    assert_erased_exactly_once(request, smtp_sink, account.values["email"])
    assert find_residue(account.values) == {}


def add_sessions(user, count):
    """Many signed-in devices: ending each one is work, which keeps the erasure busy."""
    keys = [secrets.token_hex(16) for _ in range(count)]
    data = SessionStore().encode({"_auth_user_id": str(user.pk)})
    expires = timezone.now() + datetime.timedelta(days=1)
    Session.objects.bulk_create(
        [Session(session_key=key, session_data=data, expire_date=expires) for key in keys]
    )
    UserSession.objects.bulk_create(
        [UserSession(user=user, session_key=key, ip="192.0.2.1", user_agent="x") for key in keys]
    )


def add_access_log(user, count):
    AccessLogEntry.objects.bulk_create(
        [
            AccessLogEntry(user=user, method="GET", path="/dashboard/", status_code=200)
            for _ in range(count)
        ],
        batch_size=5000,
    )


def test_a_worker_killed_mid_erasure_is_replaced_and_the_erasure_completes_once(
    smtp_sink, settings, monkeypatch
):
    account = rich_account()
    user, address = account.user, account.values["email"]
    add_sessions(user, 3000)
    add_access_log(user, 30_000)
    sessions = UserSession.objects.filter(user=user).count()
    log_rows = AccessLogEntry.objects.filter(user=user).count()
    # Only the worker about to die gets this request: the usual wake-up on filing goes nowhere.
    monkeypatch.setattr(services, "_enqueue_processing", lambda request_id: None)
    request = file_deletion_past_its_cool_off(user)
    monkeypatch.undo()

    # 1. A worker starts the erasure and is killed once the confirmation is out.
    queue = f"erasure-doomed-{uuid.uuid4().hex[:8]}"
    with start_worker(
        smtp_sink, name="doomed", queues=queue, log_name="test-worker-doomed.log"
    ) as doomed:
        process_request.apply_async(args=[request.pk], queue=queue)

        def erasing():
            current = fresh(request)
            return current.status == Status.IN_PROGRESS and CONFIRMATION_SENT in current.scope

        wait_for(erasing, interval=0.01)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=20)

    # It died midway: the request is held, the account row not emptied yet, and every entry is
    # either done or untouched (the sessions step ran in one transaction).
    assert fresh(request).status == Status.IN_PROGRESS
    assert User.objects.get(pk=user.pk).email == address
    assert UserSession.objects.filter(user=user).count() in (0, sessions)

    # 2. A new worker comes up; the sweep finds the stalled request and queues it again (to the
    # new worker's own queue, so that a worker other tests started cannot take it instead).
    settings.DSAR_STALLED_AFTER_MINUTES = 0
    queue = f"erasure-replacement-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(
        process_request,
        "delay",
        lambda request_id: process_request.apply_async(args=[request_id], queue=queue),
    )
    with start_worker(
        smtp_sink, name="replacement", queues=queue, log_name="test-worker-replacement.log"
    ):
        sweeps.sweep()

        def completed():
            return fresh(request).status == Status.COMPLETED

        wait_for(completed)

    # 3. Done once, counted exactly, nothing left.
    assert_erased_exactly_once(request, smtp_sink, address)
    assert fresh(request).attempts == 2
    rows = {line["model"]: line["rows"] for line in ErasureRecord.objects.get().summary}
    assert (rows["usersessions.UserSession"], rows["accounts.AccessLogEntry"]) == (
        sessions,
        log_rows,
    )
    assert find_residue(account.values) == {}
