"""An incident notice to 10,000 users on the real parts (PostgreSQL, Redis, a live Celery worker,
an SMTP server): the worker is killed (SIGKILL) midway, the sweep hands the broadcast to a fresh
worker, and every user ends with exactly one message and at most one e-mail."""

from __future__ import annotations

import collections
import datetime
import signal
import time
import uuid

import pytest
from allauth.account.models import EmailAddress
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from announcements import incidents
from announcements.models import Incident
from notices import fanout
from notices import services as notice_services
from notices.models import Broadcast, EmailState, Message
from notices.tasks import fan_out_broadcast, sweep_notices
from tests.conftest import start_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

USERS = 10_000
KILL_AFTER_SENT = 3_000


def wait_for(condition, timeout=150.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {condition.__name__}")
        time.sleep(interval)
    return result


def bulk_users(count: int, tag: str) -> list[int]:
    """Accounts with a verified primary address, inserted in bulk: no factory, no hashing."""
    now = timezone.now()
    users = User.objects.bulk_create(
        [
            User(email=f"fanout-{tag}-{i}@example.org", password="!", date_joined=now)
            for i in range(count)
        ],
        batch_size=2000,
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users],
        batch_size=2000,
    )
    return [u.pk for u in users]


def test_a_killed_worker_neither_loses_nor_repeats_an_incident_notice(smtp_sink, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    user_ids = bulk_users(USERS, tag)
    incident = Incident.objects.create(
        title=f"Test incident {tag}",
        what_happened="A test.",
        found_at=timezone.now(),
        measures_taken="None needed.",
        advice="Nothing to do.",
        audience={"kind": "users", "ids": user_ids},
    )
    # The broadcast is started by hand below, on a queue only the doomed worker reads (another
    # test's worker may be listening on the default queue).
    monkeypatch.setattr(notice_services, "broadcast_start", lambda broadcast_id: None)
    broadcast = incidents.incident_send(incident=incident, actor=None)
    subject_marker = incident.title

    def sent() -> int:
        return Message.objects.filter(broadcast=broadcast, email_state=EmailState.SENT).count()

    # 1. A worker starts the fan-out and is killed once it is well under way.
    queue = f"fanout-doomed-{tag}"
    with start_worker(
        smtp_sink, name="doomed", queues=queue, log_name="test-worker-fanout-doomed.log"
    ) as doomed:
        fan_out_broadcast.apply_async(args=[broadcast.pk], queue=queue)

        def under_way() -> bool:
            return sent() >= KILL_AFTER_SENT

        wait_for(under_way)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=20)
    assert sent() < USERS, "the worker finished before it was killed: nothing was resumed"
    assert Broadcast.objects.get(pk=broadcast.pk).state == Broadcast.State.SENDING

    # 2. A fresh worker; the periodic sweep finds the stalled broadcast and queues it again.
    monkeypatch.setattr(fanout, "STALLED_AFTER", datetime.timedelta(0))
    queue = f"fanout-replacement-{tag}"
    monkeypatch.setattr(
        fan_out_broadcast,
        "delay",
        lambda broadcast_id: fan_out_broadcast.apply_async(args=[broadcast_id], queue=queue),
    )
    with start_worker(
        smtp_sink, name="replacement", queues=queue, log_name="test-worker-fanout-fresh.log"
    ):
        sweep_notices()

        def done() -> bool:
            return Broadcast.objects.get(pk=broadcast.pk).state == Broadcast.State.DONE

        wait_for(done)

    # 3. Every user has exactly one message; every e-mail went out once at most. Rows the
    # killed worker was sending, or had sent but not yet marked, stay "sending" (in doubt):
    # never sent a second time.
    per_user = dict(
        Message.objects.filter(broadcast=broadcast)
        .values_list("user_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "n")
    )
    assert per_user.keys() == set(user_ids) and set(per_user.values()) == {1}
    states = collections.Counter(
        Message.objects.filter(broadcast=broadcast).values_list("email_state", flat=True)
    )
    in_doubt = states[EmailState.SENDING]
    assert in_doubt <= fanout.MARK_SENT_EVERY
    assert states[EmailState.SENT] + in_doubt == USERS

    mails = [m for m in smtp_sink.messages if subject_marker in m["Subject"]]
    per_address = collections.Counter(m["To"] for m in mails)
    assert max(per_address.values()) == 1
    assert states[EmailState.SENT] <= len(mails) <= USERS
