"""Transfer notices: who the new controller is, told to every user; where new consent is needed,
each user's answer from the inbox is recorded in the consent ledger."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from announcements import transfers
from announcements.models import TransferNotice
from consent import services as consent_services
from consent.ledger import user_subject_key
from consent.models import ConsentEvent, Decision, Method, Purpose
from core.models import AuditLogEntry
from notices import services
from notices.models import Broadcast, Category, Message
from tests.factories import PrivacyOfficerFactory, PurposeFactory, UserFactory
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

ADD = reverse("admin:announcements_transfernotice_add")
NEXT_MONTH = timezone.localdate() + datetime.timedelta(days=30)


@pytest.fixture
def officer():
    staff = PrivacyOfficerFactory()
    return staff, signed_in(staff)


def notice_form(**overrides):
    data = {
        "kind": TransferNotice.Kind.ACQUISITION,
        "new_controller": "Harbour Music Ltd",
        "new_controller_contact": "privacy@harbour.example",
        "what_changes": "Harbour Music runs the service from then on; nothing else changes.",
        "effective_on": NEXT_MONTH.isoformat(),
        "requires_consent": "",
        "purposes": [],
    }
    data.update(overrides)
    return data


def transfer_asking_for(*purposes):
    transfer = TransferNotice(
        kind=TransferNotice.Kind.MERGER,
        new_controller="Harbour Music Ltd",
        what_changes="New recommendations.",
        effective_on=NEXT_MONTH,
        requires_consent=bool(purposes),
    )
    return transfers.transfer_save(transfer=transfer, purposes=purposes, actor=None)


def send(transfer, capture):
    with capture(execute=True):
        return transfers.transfer_send(transfer=transfer, actor=None)


def ledger(user, purpose):
    return list(
        ConsentEvent.objects.filter(subject_key=user_subject_key(user.pk), purpose=purpose)
        .order_by("seq")
        .values_list("decision", "method", "actor")
    )


# --- Declaring -----------------------------------------------------------------------------------


def test_new_consent_needs_purposes_to_ask_for(officer):
    _staff, client = officer
    response = client.post(ADD, notice_form(requires_consent="on"))
    assert "Choose the purposes the new controller needs" in response.content.decode()
    assert not TransferNotice.objects.exists()


def test_only_optional_consent_based_purposes_can_be_asked_for():
    required = Purpose.objects.create(
        key="service", name="Running the service", description="x", legal_basis="contract"
    )
    with pytest.raises(ValidationError, match="Only optional purposes based on consent"):
        transfer_asking_for(required)
    assert not TransferNotice.objects.exists()


def test_a_date_in_the_past_is_refused(officer):
    _staff, client = officer
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post(ADD, notice_form(effective_on=yesterday.isoformat()))
    assert "users are told before a transfer" in response.content.decode()


def test_an_officer_declares_and_sends_a_notice_that_asks_for_consent(
    officer, django_capture_on_commit_callbacks
):
    staff, client = officer
    purpose = PurposeFactory()
    users = UserFactory.create_batch(2)
    response = client.post(ADD, notice_form(requires_consent="on", purposes=[purpose.pk]))
    assert response.status_code == 302
    transfer = TransferNotice.objects.get()
    assert list(transfer.purposes.all()) == [purpose]
    send_url = reverse("admin:announcements_transfernotice_send", args=[transfer.pk])
    page = client.get(send_url).content.decode()
    assert "Harbour Music Ltd" in page and "accept or object" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(send_url)
    transfer.refresh_from_db()
    broadcast = transfer.broadcast
    assert (broadcast.kind, broadcast.category, broadcast.requires_response) == (
        Broadcast.Kind.TRANSFER,
        Category.SERVICE_NOTICES,
        True,
    )
    told = set(Message.objects.filter(broadcast=broadcast).values_list("user_id", flat=True))
    assert told == {u.pk for u in [*users, staff]}
    assert Message.objects.filter(broadcast=broadcast, requires_response=True).count() == 3
    actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"notices.transfer_declared", "notices.transfer_sent"} <= actions


def test_a_sent_notice_opens_read_only(officer, django_capture_on_commit_callbacks):
    _staff, client = officer
    transfer = transfer_asking_for()
    send(transfer, django_capture_on_commit_callbacks)
    url = reverse("admin:announcements_transfernotice_change", args=[transfer.pk])
    client.post(url, notice_form(new_controller="Someone Else"))
    transfer.refresh_from_db()
    assert transfer.new_controller == "Harbour Music Ltd"


# --- Answers, in the ledger ----------------------------------------------------------------------


def message_of(user, broadcast):
    return Message.objects.get(user=user, broadcast=broadcast)


def test_accepting_gives_consent_to_each_purpose_asked_for(django_capture_on_commit_callbacks):
    user = UserFactory()
    first, second = PurposeFactory(), PurposeFactory()
    broadcast = send(transfer_asking_for(first, second), django_capture_on_commit_callbacks)
    services.message_respond(
        user=user, message_id=message_of(user, broadcast).pk, response="accepted"
    )
    for purpose in (first, second):
        assert ledger(user, purpose) == [(Decision.GIVEN, Method.INBOX_NOTICE, "self")]


def test_objecting_withdraws_a_given_consent_and_refuses_one_never_given(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    given, never = PurposeFactory(), PurposeFactory()
    consent_services.consent_give(
        user=user, purpose=given, method=Method.CONSENT_CENTER, actor=user
    )
    broadcast = send(transfer_asking_for(given, never), django_capture_on_commit_callbacks)
    services.message_respond(
        user=user, message_id=message_of(user, broadcast).pk, response="objected"
    )
    assert ledger(user, given)[-1] == (Decision.WITHDRAWN, Method.INBOX_NOTICE, "self")
    assert ledger(user, never) == [(Decision.REFUSED, Method.INBOX_NOTICE, "self")]


def test_a_second_answer_records_nothing_more(django_capture_on_commit_callbacks):
    user = UserFactory()
    purpose = PurposeFactory()
    broadcast = send(transfer_asking_for(purpose), django_capture_on_commit_callbacks)
    message = message_of(user, broadcast)
    services.message_respond(user=user, message_id=message.pk, response="accepted")
    services.message_respond(user=user, message_id=message.pk, response="accepted")
    with pytest.raises(ValidationError, match="already answered"):
        services.message_respond(user=user, message_id=message.pk, response="objected")
    assert len(ledger(user, purpose)) == 1


def test_an_answer_that_cannot_be_recorded_in_the_ledger_is_not_recorded_at_all(
    django_capture_on_commit_callbacks, monkeypatch
):
    user = UserFactory()
    purpose = PurposeFactory()
    broadcast = send(transfer_asking_for(purpose), django_capture_on_commit_callbacks)
    monkeypatch.setattr("consent.services.collection_stopped", lambda: True)
    with pytest.raises(ValidationError, match="no consent can be given"):
        services.message_respond(
            user=user, message_id=message_of(user, broadcast).pk, response="accepted"
        )
    message = message_of(user, broadcast)
    assert (message.response, message.responded_at) == ("", None)
    assert ledger(user, purpose) == []
