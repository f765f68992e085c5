"""The periodic sweep: stalled work is queued again, staff are warned before deadlines."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from core.models import AuditLogEntry
from requests_dsar import services, sweeps
from requests_dsar.models import DataSubjectRequest, Status
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def file(user, type="question"):
    request, _ = services.dsar_request_create(
        subject=user, requester=user, type=type, details="Anything?", reauthenticated=True
    )
    return request


def test_work_held_by_a_dead_worker_is_queued_again_and_finished(user, settings):
    settings.DSAR_STALLED_AFTER_MINUTES = 30
    request = file(user, type="restrict")
    services.dsar_transition(request=request, to=Status.IN_PROGRESS, actor=None)  # worker died here
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=31)):
        sweeps.sweep()
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def test_fresh_work_in_progress_is_left_alone(user):
    request = file(user, type="restrict")
    services.dsar_transition(request=request, to=Status.IN_PROGRESS, actor=None)
    sweeps.sweep()
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.IN_PROGRESS


def test_a_pending_request_the_broker_lost_is_queued_again(user):
    request = file(user)  # a question: processing hands it to staff
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
        sweeps.sweep()
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.AWAITING_APPROVAL


def due_in(user, days):
    request = file(user)
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + datetime.timedelta(days=days, hours=1)
    )
    return request


def test_staff_are_warned_once_per_threshold(settings):
    settings.DSAR_WARNING_DAYS = [5, 2]
    staff = StaffFactory()
    due_in(UserFactory(), 4)
    sweeps.sweep()
    sweeps.sweep()
    warnings = [m for m in mail.outbox if m.to == [staff.email]]
    assert len(warnings) == 1
    assert "due within 5 days" in warnings[0].subject


def test_a_closer_threshold_warns_again(settings):
    settings.DSAR_WARNING_DAYS = [5, 2]
    StaffFactory()
    request = due_in(UserFactory(), 4)
    sweeps.sweep()
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        due_at=timezone.now() + datetime.timedelta(days=1)
    )
    sweeps.sweep()
    assert [m.subject for m in mail.outbox][-1].endswith("due within 2 days")


def test_an_overdue_request_is_flagged_once_and_audited():
    StaffFactory()
    request = due_in(UserFactory(), -2)
    sweeps.sweep()
    sweeps.sweep()
    request.refresh_from_db()
    assert request.overdue_flagged_at is not None
    assert request.is_overdue
    assert (
        AuditLogEntry.objects.filter(action="dsar.overdue", target_id=str(request.pk)).count() == 1
    )


def test_warnings_name_no_personal_data(settings):
    settings.DSAR_WARNING_DAYS = [5]
    StaffFactory()
    subject = UserFactory(email="very.private.person@example.org")
    due_in(subject, 3)
    sweeps.sweep()
    assert "very.private.person" not in mail.outbox[-1].body


def test_a_paused_request_is_not_warned(settings):
    settings.DSAR_WARNING_DAYS = [5]
    StaffFactory()
    request = due_in(UserFactory(), 3)
    services.dsar_ask_clarification(request=request, actor=StaffFactory(), message="Which?")
    mail.outbox.clear()
    sweeps.sweep()
    assert mail.outbox == []


def test_the_assignee_is_told_in_their_inbox_when_a_request_of_theirs_nears_its_deadline(
    settings,
):
    from notices.models import Message
    from tests.factories import SupportAgentFactory

    settings.DSAR_WARNING_DAYS = [5]
    agent = SupportAgentFactory()
    theirs = due_in(UserFactory(), 4)
    nobodys = due_in(UserFactory(), 4)
    services.dsar_assign(request=theirs, assignee=agent, actor=agent)
    sweeps.sweep()
    (told,) = Message.objects.filter(user=agent)
    assert told.title == f"Request {theirs.reference}, assigned to you, is due within 5 days"
    assert str(theirs.pk) in told.link
    assert nobodys.reference not in told.title
