"""The fan-out's sending and walking: a mail server that cannot take a message now is tried
again, up to a limit; mandatory categories are e-mailed whatever was stored; the audience is
walked from a cursor, resumed from it, and closed once the walk is over."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notices import fanout, services
from notices.models import Broadcast, Category, EmailState, Message, Preference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class ServerAway:
    """An e-mail class whose server hangs up (a temporary failure) while `away` is true."""

    away = True
    tries = 0

    def __init__(self, *args, **kwargs):
        from django.core.mail import EmailMessage

        self.message = EmailMessage(*args, **kwargs)

    def send(self):
        type(self).tries += 1
        if self.away:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return self.message.send()


@pytest.fixture
def server_away(monkeypatch):
    monkeypatch.setattr("core.mail.EmailMessage", ServerAway)
    monkeypatch.setattr(ServerAway, "away", True)
    monkeypatch.setattr(ServerAway, "tries", 0)
    return ServerAway


def pending_message(user, category=Category.SERVICE_NOTICES):
    return Message.objects.create(
        user=user, category=category, title="Maintenance", body="Tonight.", email_state="pending"
    )


def broadcast(category=Category.SERVICE_NOTICES, audience=None, source="test:fanout"):
    """A broadcast whose fan-out the test runs itself (its task is not queued)."""
    return services.broadcast_create(
        source=source,
        kind=Broadcast.Kind.SERVICE,
        category=category,
        title="New feature",
        body="Read more.",
        audience=audience or {"kind": "all"},
    )


def run(broadcast_id, batch_size=fanout.BATCH_SIZE):
    while fanout.broadcast_step(broadcast_id=broadcast_id, batch_size=batch_size):
        pass


def reached(broadcast_id):
    return sorted(Message.objects.filter(broadcast_id=broadcast_id).values_list("user", flat=True))


# --- Sending one e-mail --------------------------------------------------------------------------


def test_a_temporary_smtp_failure_leaves_the_e_mail_pending_for_a_retry(server_away):
    message = pending_message(UserFactory())

    with pytest.raises(fanout.TransientSendError):
        fanout.send_one(message)

    message.refresh_from_db()
    assert (message.email_state, message.email_attempts) == (EmailState.PENDING, 1)
    server_away.away = False  # the server is back: the task's retry sends it
    assert fanout.send_message_email(message.pk) is True
    message.refresh_from_db()
    assert (message.email_state, message.email_attempts) == (EmailState.SENT, 2)
    assert len(mail.outbox) == 1


def test_an_e_mail_the_server_never_takes_fails_after_the_last_attempt(server_away):
    message = pending_message(UserFactory())

    for _attempt in range(fanout.MAX_EMAIL_ATTEMPTS - 1):
        with pytest.raises(fanout.TransientSendError):
            fanout.send_message_email(message.pk)
    assert fanout.send_message_email(message.pk) is False  # the last one: no retry raised

    message.refresh_from_db()
    assert (message.email_state, message.email_attempts) == (
        EmailState.FAILED,
        fanout.MAX_EMAIL_ATTEMPTS,
    )
    assert fanout.send_message_email(message.pk) is False  # a failed e-mail is not tried again
    assert server_away.tries == fanout.MAX_EMAIL_ATTEMPTS


def test_a_temporary_failure_stops_the_batch_and_the_next_step_sends_the_rest(server_away):
    users = UserFactory.create_batch(3)
    notice = broadcast()

    with pytest.raises(fanout.TransientSendError):
        fanout.broadcast_step(broadcast_id=notice.pk)
    assert Message.objects.filter(broadcast=notice, email_state=EmailState.PENDING).count() == 3

    server_away.away = False
    run(notice.pk)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    assert set(notice.messages.values_list("email_state", flat=True)) == {EmailState.SENT}


# --- Preferences ---------------------------------------------------------------------------------


def test_a_broadcast_in_a_mandatory_category_e_mails_a_user_who_switched_it_off():
    user = UserFactory()
    # A "no" stored for it (from before it became mandatory, say) does not stop the e-mail.
    Preference.objects.create(user=user, category=Category.SECURITY_INCIDENTS, email=False)
    notice = broadcast(category=Category.SECURITY_INCIDENTS)

    run(notice.pk)

    assert notice.messages.get().email_state == EmailState.SENT
    assert [m.to for m in mail.outbox] == [[user.email]]


# --- Walking the audience ------------------------------------------------------------------------


def test_the_walk_keeps_its_place_in_a_cursor_and_reads_only_the_users_after_it():
    users = UserFactory.create_batch(5)
    notice = broadcast()

    assert fanout.broadcast_step(broadcast_id=notice.pk, batch_size=2)
    notice.refresh_from_db()
    assert notice.cursor == users[1].pk
    assert reached(notice.pk) == [u.pk for u in users[:2]]

    fanout.broadcast_step(broadcast_id=notice.pk, batch_size=2)
    notice.refresh_from_db()
    assert notice.cursor == users[3].pk


def test_only_the_last_pass_looks_for_users_without_a_message():
    UserFactory.create_batch(6)
    notice = broadcast()

    with CaptureQueriesContext(connection) as queries:
        run(notice.pk, batch_size=2)

    # The cost of a batch does not grow with the audience: one anti-join for the whole run.
    anti_joins = [q["sql"] for q in queries if "NOT (EXISTS" in q["sql"]]
    assert len(anti_joins) == 1
    assert len(reached(notice.pk)) == 6


def test_a_listed_audience_is_read_a_batch_of_ids_at_a_time():
    users = UserFactory.create_batch(6)
    notice = broadcast(audience={"kind": "users", "ids": [u.pk for u in users]})

    with CaptureQueriesContext(connection) as queries:
        fanout.broadcast_step(broadcast_id=notice.pk, batch_size=2)

    lists = [m.split(",") for q in queries for m in re.findall(r"IN \(([^)]*)\)", q["sql"])]
    assert max(len(ids) for ids in lists) == 2  # never the whole list
    assert reached(notice.pk) == [u.pk for u in users[:2]]


def test_listed_users_who_cannot_be_told_are_passed_over_and_the_walk_goes_on():
    closed = [UserFactory(is_active=False) for _ in range(2)]
    told = UserFactory()
    notice = broadcast(audience={"kind": "users", "ids": [u.pk for u in [*closed, told]]})

    run(notice.pk, batch_size=2)  # the first batch of ids finds nobody to tell

    assert reached(notice.pk) == [told.pk]


def test_a_walk_resumed_from_an_old_cursor_tells_nobody_twice():
    users = UserFactory.create_batch(5)
    notice = broadcast()
    fanout.broadcast_step(broadcast_id=notice.pk, batch_size=3)
    # A worker that died after writing a batch but before its cursor was seen: start over.
    Broadcast.objects.filter(pk=notice.pk).update(cursor=None)

    run(notice.pk, batch_size=3)

    assert reached(notice.pk) == [u.pk for u in users]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)


def test_someone_who_joins_the_audience_behind_the_cursor_is_still_reached():
    first, closed = UserFactory(), UserFactory(is_active=False)
    later = UserFactory()
    notice = broadcast()
    fanout.broadcast_step(broadcast_id=notice.pk, batch_size=2)  # passes over `closed`

    closed.is_active = True  # reactivated while the fan-out runs
    closed.save(update_fields=["is_active"])
    run(notice.pk, batch_size=2)

    assert reached(notice.pk) == [first.pk, closed.pk, later.pk]
    notice.refresh_from_db()
    assert notice.audience_closed_at is not None


def test_once_the_walk_is_over_nobody_new_is_added_even_if_run_again():
    UserFactory.create_batch(2)
    notice = broadcast()
    run(notice.pk)
    newcomer = UserFactory()

    Broadcast.objects.filter(pk=notice.pk).update(state=Broadcast.State.SENDING)
    run(notice.pk)

    assert not newcomer.messages.exists()
    notice.refresh_from_db()
    assert notice.state == Broadcast.State.DONE


def test_retrying_a_broadcast_finished_before_its_walk_was_recorded_adds_nobody(
    django_capture_on_commit_callbacks,
):
    told = UserFactory()
    notice = broadcast()
    run(notice.pk)
    # An older row: finished, but its closing never recorded (as before this field existed).
    Broadcast.objects.filter(pk=notice.pk).update(audience_closed_at=None, cursor=None)
    Message.objects.filter(user=told).update(email_state=EmailState.FAILED)
    newcomer = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.broadcast_retry_failed(broadcast=notice) == 1

    assert not newcomer.messages.exists()
    assert notice.messages.get().email_state == EmailState.SENT
