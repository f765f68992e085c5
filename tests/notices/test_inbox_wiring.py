"""What reaches the inbox from elsewhere: request updates for requests of an account (and by
e-mail, a mandatory category); a requester without an account is e-mailed directly."""

from __future__ import annotations

import pytest
from django.core import mail

from notices.models import Category, Message
from requests_dsar import services
from requests_dsar.models import DataSubjectRequest, Status
from requests_dsar.notifications import notify_requester
from tests.factories import DataSubjectRequestFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

PRIVATE_DETAILS = "My neighbour Jane Roe at 12 Hidden Lane"


def test_a_request_update_reaches_the_inbox_and_the_mailbox_without_personal_values(
    user, django_capture_on_commit_callbacks
):
    request = DataSubjectRequestFactory(subject=user, type="copy", details=PRIVATE_DETAILS)
    with django_capture_on_commit_callbacks(execute=True):
        services.dsar_ask_clarification(request=request, actor=StaffFactory(), message="Which?")
    notice = Message.objects.get(user=user, category=Category.REQUEST_UPDATES)
    assert request.reference in notice.title and "Get a copy of my data" in notice.body
    assert "Waiting for your answer" in notice.body
    assert notice.link == f"/dashboard/requests/{request.public_id}/"
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert PRIVATE_DETAILS not in notice.title + notice.body + mail.outbox[0].body


def test_a_request_filed_for_someone_else_is_told_to_the_one_who_filed_it(
    django_capture_on_commit_callbacks,
):
    from tests.guardianship.dashboard_helpers import make_guardianship

    guardianship = make_guardianship()
    guardian, minor = guardianship.guardian, guardianship.minor
    request = DataSubjectRequestFactory(subject=minor, requester=guardian)
    with django_capture_on_commit_callbacks(execute=True):
        notify_requester(request_id=request.pk, event=Status.IN_PROGRESS)
    assert list(Message.objects.values_list("user_id", flat=True)) == [guardian.pk]


def test_a_received_request_is_acknowledged_in_the_inbox(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request, _created = services.dsar_request_create(
            subject=user, requester=user, type="question", details="Hello?"
        )
    titles = list(user.messages.values_list("title", flat=True))
    assert titles == [f"We received your request {request.reference}"]


def test_a_requester_without_an_account_is_emailed_directly(django_capture_on_commit_callbacks):
    request = DataSubjectRequest.objects.create(
        type="question", status=Status.PENDING, contact_email="no.account@example.org"
    )
    notify_requester(request_id=request.pk, event=Status.COMPLETED)
    assert not Message.objects.exists()
    assert [m.to for m in mail.outbox] == [["no.account@example.org"]]
    assert request.reference in mail.outbox[0].subject


def test_a_completed_deletion_sends_no_notice(user):
    request = DataSubjectRequestFactory(subject=user, type="delete", status=Status.COMPLETED)
    notify_requester(request_id=request.pk, event=Status.COMPLETED)
    assert not Message.objects.exists()
    assert mail.outbox == []


def test_an_erased_account_is_told_nothing():
    erased = UserFactory(email="erased-1@erased.invalid")
    request = DataSubjectRequestFactory(subject=erased, status=Status.IN_PROGRESS)
    notify_requester(request_id=request.pk, event=Status.IN_PROGRESS)
    assert not Message.objects.exists()
    assert mail.outbox == []
