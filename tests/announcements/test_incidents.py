"""Security incidents in the admin: declared by a privacy officer, sent once to exactly the
affected users, followed live, retried, and updated along a timeline sent to the same people."""

from __future__ import annotations

import datetime
import re
import smtplib

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from announcements import incidents
from announcements.models import Incident, IncidentUpdate
from core.models import AuditLogEntry
from notices.models import Broadcast, Category, EmailState, Message
from retention import sweep as retention
from tests.factories import (
    LoginEventFactory,
    PrivacyOfficerFactory,
    ProfileFactory,
    SupportAgentFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

ADD = reverse("admin:announcements_incident_add")
FOUND = timezone.now() - datetime.timedelta(hours=3)


def change_url(incident):
    return reverse("admin:announcements_incident_change", args=[incident.pk])


def send_url(incident):
    return reverse("admin:announcements_incident_send", args=[incident.pk])


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def split(moment):
    return {"0": moment.strftime("%Y-%m-%d"), "1": moment.strftime("%H:%M:%S")}


def declaration(**overrides):
    """The add form's fields, for everyone unless `audience_kind` says otherwise."""
    data = {
        "title": "Unauthorised access to a support tool",
        "what_happened": "A support tool was reachable without a password for two hours.",
        "found_at_0": split(FOUND)["0"],
        "found_at_1": split(FOUND)["1"],
        "occurred_at_0": "",
        "occurred_at_1": "",
        "data_categories": ["profile"],
        "measures_taken": "We closed access and rotated every key.",
        "measures_planned": "An outside audit of the support tools.",
        "advice": "Watch for e-mails asking for your password: we never ask for it.",
        "status": "open",
        "audience_kind": "all",
        "audience_category": "",
        "signed_in_after_0": "",
        "signed_in_after_1": "",
        "signed_in_before_0": "",
        "signed_in_before_1": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def officer():
    staff = PrivacyOfficerFactory()
    return staff, signed_in(staff)


def declare(client, **overrides):
    response = client.post(ADD, declaration(**overrides))
    assert response.status_code == 302, response.context["adminform"].form.errors
    return Incident.objects.latest("pk")


def send(client, incident, capture):
    with capture(execute=True):
        response = client.post(send_url(incident))
    assert response.status_code == 302
    incident.refresh_from_db()
    return response


# --- Declaring -----------------------------------------------------------------------------------


def test_an_officer_declares_an_incident_and_the_declaration_is_audited(officer):
    staff, client = officer
    incident = declare(client)
    assert (incident.declared_by, incident.audience, incident.data_categories) == (
        staff,
        {"kind": "all"},
        ["profile"],
    )
    entry = AuditLogEntry.objects.get(action="notices.incident_declared")
    assert (entry.actor_user_id, entry.target_id) == (staff.pk, str(incident.pk))


def test_a_support_agent_may_read_incidents_but_not_declare_or_send_them(officer):
    incident = declare(officer[1])
    agent = signed_in(SupportAgentFactory())
    assert agent.get(change_url(incident)).status_code == 200
    assert agent.post(ADD, declaration()).status_code == 403
    assert agent.post(send_url(incident)).status_code == 403
    assert not Broadcast.objects.exists()


def test_a_time_window_needs_both_ends_in_order(officer):
    _staff, client = officer
    now = timezone.now()
    missing = client.post(
        ADD,
        declaration(
            audience_kind="logged_in",
            **{f"signed_in_after_{k}": v for k, v in split(now).items()},
        ),
    )
    assert "Give both ends of the time window." in missing.content.decode()
    backwards = client.post(
        ADD,
        declaration(
            audience_kind="logged_in",
            **{f"signed_in_after_{k}": v for k, v in split(now).items()},
            **{
                f"signed_in_before_{k}": v
                for k, v in split(now - datetime.timedelta(days=1)).items()
            },
        ),
    )
    assert "The window must end after it starts." in backwards.content.decode()
    assert not Incident.objects.exists()


def test_found_before_it_happened_is_refused(officer):
    _staff, client = officer
    later = FOUND + datetime.timedelta(hours=1)
    response = client.post(
        ADD, declaration(occurred_at_0=split(later)["0"], occurred_at_1=split(later)["1"])
    )
    assert response.status_code == 200
    assert "cannot have been found before it happened" in response.content.decode()


def test_found_in_the_future_is_a_form_error_not_a_crash(officer):
    _staff, client = officer
    tomorrow = split(timezone.now() + datetime.timedelta(days=1))
    response = client.post(ADD, declaration(found_at_0=tomorrow["0"], found_at_1=tomorrow["1"]))
    assert response.status_code == 200
    assert "This time is in the future" in response.content.decode()
    assert not Incident.objects.exists()


def test_a_file_with_junk_is_refused_naming_the_line_but_not_the_value(officer):
    _staff, client = officer
    upload = SimpleUploadedFile("ids.csv", b"id\n12\nalice@example.org\n", "text/csv")
    response = client.post(ADD, declaration(audience_kind="users", user_file=upload))
    text = response.content.decode()
    assert "Line 3, value 1, is not a user id" in text
    assert "alice@example.org" not in text
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "not a text file"),
        (b"id\n", "holds no user id"),
        (b"1,2,-3\n", "Line 1, value 3"),
        (b"99999999999999999999999\n", "Line 1, value 1"),
    ],
)
def test_an_unusable_file_of_ids_is_a_clear_error(content, message):
    with pytest.raises(ValidationError, match=message):
        incidents.parse_user_ids(content)


def test_ids_one_per_line_or_comma_separated_are_both_read():
    assert incidents.parse_user_ids(b"user_id\r\n3\r\n1, 2\n\n3\n") == [1, 2, 3]


def test_unknown_ids_in_the_file_are_left_out_and_reported_as_a_count(officer):
    _staff, client = officer
    known = UserFactory.create_batch(2)
    listed = ",".join(str(u.pk) for u in known) + ",999998\n999999\n"
    upload = SimpleUploadedFile("ids.txt", listed.encode(), "text/plain")
    response = client.post(ADD, declaration(audience_kind="users", user_file=upload), follow=True)
    incident = Incident.objects.get()
    assert incident.audience == {"kind": "users", "ids": sorted(u.pk for u in known)}
    assert any("2 ids matching no account left out" in text for text in flashes(response))


def test_a_file_matching_no_account_is_refused(officer):
    _staff, client = officer
    upload = SimpleUploadedFile("ids.txt", b"999998\n999999\n", "text/plain")
    response = client.post(ADD, declaration(audience_kind="users", user_file=upload))
    assert "None of the 2 ids in the file matches an account" in response.content.decode()


# --- Sending -------------------------------------------------------------------------------------


def test_the_confirmation_page_shows_the_audience_size_and_the_composed_notice(officer):
    _staff, client = officer
    UserFactory.create_batch(2)
    incident = declare(client)
    page = client.get(send_url(incident)).content.decode()
    assert "3 accounts" in page  # two users and the officer (staff have accounts too)
    # The policy's promises: the situation, the handling and remedies, what to do.
    for heading in ("What happened", "What we have done", "What we will do", "What you can do"):
        assert heading in page
    assert "Profile" in page  # the affected category, by its label
    assert not Broadcast.objects.exists()


def test_sending_reaches_exactly_the_listed_users_once_each(
    officer, django_capture_on_commit_callbacks
):
    staff, client = officer
    chosen = UserFactory.create_batch(3)
    others = UserFactory.create_batch(2)
    ids = "\n".join(str(u.pk) for u in chosen).encode()
    incident = declare(
        client, audience_kind="users", user_file=SimpleUploadedFile("ids.txt", ids, "text/plain")
    )
    send(client, incident, django_capture_on_commit_callbacks)
    # Sending again (a double click, a second officer) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(send_url(incident), follow=True)
    assert "The notice was already sent." in flashes(again)

    broadcast = incident.broadcast
    assert (broadcast.source, broadcast.category) == (
        f"incident:{incident.pk}",
        Category.SECURITY_INCIDENTS,
    )
    reached = sorted(Message.objects.filter(broadcast=broadcast).values_list("user_id", flat=True))
    assert reached == sorted(u.pk for u in chosen)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in chosen)
    assert not Message.objects.filter(user__in=[*others, staff]).exists()
    assert AuditLogEntry.objects.filter(action="notices.incident_sent").count() == 1


def test_users_who_signed_in_within_the_window_are_the_audience(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    start = timezone.now() - datetime.timedelta(days=2)
    inside, before, never = UserFactory(), UserFactory(), UserFactory()
    LoginEventFactory(user=inside, created_at=start + datetime.timedelta(hours=5))
    LoginEventFactory(user=before, created_at=start - datetime.timedelta(hours=5))
    incident = declare(
        client,
        audience_kind="logged_in",
        **{f"signed_in_after_{k}": v for k, v in split(start).items()},
        **{
            f"signed_in_before_{k}": v for k, v in split(start + datetime.timedelta(days=1)).items()
        },
    )
    send(client, incident, django_capture_on_commit_callbacks)
    assert list(Message.objects.values_list("user_id", flat=True)) == [inside.pk]
    assert not never.messages.exists()


def test_users_with_data_in_a_category_are_the_audience(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    with_profile = ProfileFactory().user
    UserFactory()
    incident = declare(client, audience_kind="data_category", audience_category="profile")
    send(client, incident, django_capture_on_commit_callbacks)
    assert list(Message.objects.values_list("user_id", flat=True)) == [with_profile.pk]


def test_nobody_to_tell_is_refused_without_a_broadcast(officer):
    _staff, client = officer
    incident = declare(client, audience_kind="data_category", audience_category="profile")
    response = client.post(send_url(incident), follow=True)
    assert any("Nobody in this audience can be told" in text for text in flashes(response))
    assert not Broadcast.objects.exists()


def test_what_users_were_told_cannot_be_edited_after_sending_but_the_status_can(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    UserFactory()
    incident = declare(client)
    send(client, incident, django_capture_on_commit_callbacks)
    response = client.post(
        change_url(incident),
        {
            "title": "Something else",
            "status": "closed",
            "updates-TOTAL_FORMS": "0",
            "updates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.status) == ("Unauthorised access to a support tool", "closed")


# --- Progress and retries ------------------------------------------------------------------------


class RefusingOne:
    """An e-mail class whose server refuses one address (a permanent failure)."""

    refused: set[str] = set()

    def __init__(self, *args, **kwargs):
        from django.core.mail import EmailMessage

        self.message = EmailMessage(*args, **kwargs)

    def send(self):
        if self.message.to[0] in self.refused:
            raise smtplib.SMTPRecipientsRefused({self.message.to[0]: (550, b"no")})
        return self.message.send()


def test_failed_e_mails_show_in_the_progress_and_are_retried(
    officer, monkeypatch, django_capture_on_commit_callbacks
):
    _staff, client = officer
    fine, refused = UserFactory(), UserFactory()
    monkeypatch.setattr("core.mail.EmailMessage", RefusingOne)
    monkeypatch.setattr(RefusingOne, "refused", {refused.email})
    incident = declare(client)
    send(client, incident, django_capture_on_commit_callbacks)
    page = client.get(change_url(incident)).content.decode()
    assert re.search(r"E-mails failed</th><td>1\b", page)
    retry = reverse("admin:notices_broadcast_retry", args=[incident.broadcast_id])
    assert retry in page

    # Someone signs up after the notice went out: the incident is not theirs.
    newcomer = UserFactory()
    # The server takes it now; the officer retries.
    monkeypatch.setattr(RefusingOne, "refused", set())
    assert "Retry 1 e-mail" in client.get(retry).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry, follow=True)
    assert "1 failed e-mails queued again." in flashes(response)
    states = dict(Message.objects.values_list("user_id", "email_state"))
    assert states[refused.pk] == states[fine.pk] == EmailState.SENT
    assert [m.to for m in mail.outbox].count([refused.email]) == 1
    assert not newcomer.messages.exists()
    assert [newcomer.email] not in [m.to for m in mail.outbox]
    incident.broadcast.refresh_from_db()
    assert incident.broadcast.state == Broadcast.State.DONE
    assert AuditLogEntry.objects.filter(action="notices.broadcast_retried").exists()


def test_progress_polls_while_sending_and_stops_when_done(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    UserFactory.create_batch(2)
    incident = declare(client)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(send_url(incident))  # the fan-out's task is not run
    incident.refresh_from_db()
    progress = reverse("admin:notices_broadcast_progress", args=[incident.broadcast_id])
    sending = client.get(progress, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 5s"' in sending
    assert re.search(r"Audience</th><td>Everyone with an account: 3 accounts now", sending)

    from notices.fanout import broadcast_step

    while broadcast_step(broadcast_id=incident.broadcast_id):
        pass
    done = client.get(progress, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done
    assert re.search(r"E-mails sent</th><td>3\b", done)


def test_the_incident_page_has_no_inline_script(officer, django_capture_on_commit_callbacks):
    _staff, client = officer
    UserFactory()
    incident = declare(client)
    send(client, incident, django_capture_on_commit_callbacks)
    page = client.get(change_url(incident)).content.decode()
    assert "htmx-2.0.11.min.js" in page
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert [tag for tag in inline if "application/json" not in tag] == []


# --- The timeline --------------------------------------------------------------------------------


def add_update(client, incident, body):
    client.post(
        change_url(incident),
        {
            "status": incident.status,
            "updates-TOTAL_FORMS": "1",
            "updates-INITIAL_FORMS": "0",
            "updates-0-body": body,
            "updates-0-incident": incident.pk,
        },
    )
    return IncidentUpdate.objects.filter(incident=incident).latest("pk")


def test_an_update_goes_to_exactly_the_people_the_incident_reached(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    affected = UserFactory.create_batch(2)
    ids = "\n".join(str(u.pk) for u in affected).encode()
    incident = declare(
        client, audience_kind="users", user_file=SimpleUploadedFile("i.txt", ids, "text/plain")
    )
    send(client, incident, django_capture_on_commit_callbacks)
    newcomer = UserFactory()  # joined since: not affected

    update = add_update(client, incident, "The audit found no further access.")
    assert update.created_by == officer[0]
    send_update = reverse("admin:announcements_incident_send_update", args=[incident.pk, update.pk])
    assert "2 accounts" in client.get(send_update).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(send_update)
    update.refresh_from_db()
    assert update.broadcast.source == f"incident-update:{update.pk}"
    told = sorted(update.broadcast.messages.values_list("user_id", flat=True))
    assert told == sorted(u.pk for u in affected)
    assert not newcomer.messages.exists()
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"notices.incident_update_added", "notices.incident_update_sent"} <= actions


def test_an_update_a_year_later_still_reaches_everyone_the_open_incident_told(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    affected = UserFactory.create_batch(2)
    ids = "\n".join(str(u.pk) for u in affected).encode()
    incident = declare(
        client, audience_kind="users", user_file=SimpleUploadedFile("i.txt", ids, "text/plain")
    )
    send(client, incident, django_capture_on_commit_callbacks)
    update = add_update(client, incident, "The investigation is over.")

    # A year and more later the nightly sweep has removed old inbox messages, but not the
    # notice of an incident still open: its rows are the list of who to update.
    with time_machine.travel(timezone.now() + datetime.timedelta(days=400)):
        retention.retention_sweep(categories=["inbox_messages"])
        with django_capture_on_commit_callbacks(execute=True):
            broadcast = incidents.incident_update_send(update=update, actor=officer[0])

    told = sorted(broadcast.messages.values_list("user_id", flat=True))
    assert told == sorted(u.pk for u in affected)


def test_an_update_nobody_can_receive_any_more_is_refused_with_a_message(
    officer, django_capture_on_commit_callbacks
):
    staff, client = officer
    affected = UserFactory()
    upload = SimpleUploadedFile("i.txt", str(affected.pk).encode(), "text/plain")
    incident = declare(client, audience_kind="users", user_file=upload)
    send(client, incident, django_capture_on_commit_callbacks)
    affected.is_active = False  # the account was closed since
    affected.save(update_fields=["is_active"])
    update = add_update(client, incident, "More news.")

    with pytest.raises(ValidationError, match="Nobody the incident's notice reached"):
        incidents.incident_update_send(update=update, actor=staff)
    update.refresh_from_db()
    assert update.broadcast is None
    assert Broadcast.objects.count() == 1


def test_an_update_waits_until_the_incident_notice_has_reached_everyone(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    UserFactory()
    incident = declare(client)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(send_url(incident))  # still sending
    update = add_update(client, incident, "More news.")
    response = client.post(
        reverse("admin:announcements_incident_send_update", args=[incident.pk, update.pk]),
        follow=True,
    )
    assert any("still being sent" in text for text in flashes(response))
    update.refresh_from_db()
    assert update.broadcast is None


def test_a_sent_update_cannot_be_rewritten(officer, django_capture_on_commit_callbacks):
    _staff, client = officer
    UserFactory()
    incident = declare(client)
    send(client, incident, django_capture_on_commit_callbacks)
    update = add_update(client, incident, "First words.")
    with django_capture_on_commit_callbacks(execute=True):
        incidents.incident_update_send(update=update, actor=officer[0])
    response = client.post(
        change_url(incident),
        {
            "status": "open",
            "updates-TOTAL_FORMS": "1",
            "updates-INITIAL_FORMS": "1",
            "updates-0-id": update.pk,
            "updates-0-incident": incident.pk,
            "updates-0-body": "Other words.",
        },
    )
    assert "This update was sent: it cannot change." in response.content.decode()
    update.refresh_from_db()
    assert update.body == "First words."


# --- Every broadcast, read-only ------------------------------------------------------------------


def test_the_broadcast_list_shows_each_notice_with_its_progress(
    officer, django_capture_on_commit_callbacks
):
    _staff, client = officer
    UserFactory.create_batch(2)
    incident = declare(client)
    send(client, incident, django_capture_on_commit_callbacks)
    page = client.get(reverse("admin:notices_broadcast_changelist"))
    broadcast = page.context["cl"].result_list[0]
    assert (broadcast.n_reached, broadcast.n_sent, broadcast.n_failed) == (3, 3, 0)
    agent = signed_in(SupportAgentFactory())
    detail = agent.get(reverse("admin:notices_broadcast_change", args=[broadcast.pk]))
    assert detail.status_code == 200
    assert "Retry" not in detail.content.decode()
