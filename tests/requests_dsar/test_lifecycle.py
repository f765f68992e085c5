"""The request lifecycle: one state machine, every change recorded, the clock handled."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Profile
from core.audit import audit_verify
from core.models import AuditLogEntry
from requests_dsar import services
from requests_dsar.models import DataSubjectRequest, RequestEvent, Status
from requests_dsar.workflow import TRANSITIONS, TransitionNotAllowed
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def file(user, type="question", details="Which data do you hold?", **kwargs):
    kwargs.setdefault("reauthenticated", True)
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, details=details, **kwargs
    )
    return request


def test_a_reauthenticated_request_is_verified_and_gets_its_deadline(user):
    request = file(user)
    assert request.status == Status.PENDING
    assert request.verification_method == "reauthentication"
    assert request.due_at > timezone.now() + datetime.timedelta(days=14)


def test_a_request_without_verification_has_no_deadline_yet(user):
    request = file(user, reauthenticated=False)
    assert (request.status, request.due_at) == (Status.IDENTITY_UNVERIFIED, None)


def test_every_transition_is_recorded_with_actor_and_reason(user):
    request = file(user)
    staff = StaffFactory()
    services.dsar_deny(request=request, actor=staff, reason="no_match", note="Nothing held.")
    last = RequestEvent.objects.filter(request=request).last()
    assert (last.from_status, last.to_status, last.actor) == ("pending", "denied", staff)
    assert "Nothing held." in last.reason


def test_a_transition_outside_the_state_machine_is_refused(user):
    request = file(user)
    services.dsar_cancel(request=request, actor=user)
    with pytest.raises(TransitionNotAllowed):
        services.dsar_transition(request=request, to=Status.PENDING, actor=None)


def test_a_stale_copy_cannot_move_a_request_that_moved_meanwhile(user):
    request = file(user)
    stale = DataSubjectRequest.objects.get(pk=request.pk)
    services.dsar_cancel(request=request, actor=user)
    with pytest.raises(TransitionNotAllowed):
        services.dsar_transition(request=stale, to=Status.IN_PROGRESS, actor=None)
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.CANCELLED


def test_terminal_statuses_have_no_way_out():
    assert all(not TRANSITIONS[s] for s in (Status.COMPLETED, Status.DENIED, Status.CANCELLED))


def test_waiting_for_the_requesters_answer_does_not_count(user):
    staff = StaffFactory()
    request = file(user)
    due = request.due_at
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        services.dsar_ask_clarification(request=request, actor=staff, message="Which account?")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=6)):
        services.dsar_message_post(request=request, author=user, body="This one.", from_staff=False)
    request.refresh_from_db()
    assert request.status == Status.PENDING
    assert request.paused_at is None
    assert abs(request.due_at - due - datetime.timedelta(days=4)) < datetime.timedelta(seconds=5)


def test_a_deadline_is_extended_once_with_a_reason_and_the_requester_is_told(
    user, django_capture_on_commit_callbacks
):
    staff = StaffFactory()
    request = file(user)
    due = request.due_at
    with django_capture_on_commit_callbacks(execute=True):
        services.dsar_extend(request=request, actor=staff, reason="Complex request", days=10)
    assert request.due_at.date() - due.date() == datetime.timedelta(days=10)
    # Told in the inbox (a request update, linking to the request) and so by e-mail.
    notice = user.messages.get(category="request_updates", title__contains="extended")
    assert notice.link == f"/dashboard/requests/{request.public_id}/"
    assert mail.outbox and mail.outbox[-1].to == [user.email]
    with pytest.raises(ValidationError, match="already extended"):
        services.dsar_extend(request=request, actor=staff, reason="Again", days=1)


@pytest.mark.parametrize(("days", "reason"), [(0, "Busy"), (99, "Busy"), (5, " ")])
def test_an_extension_outside_the_limits_or_without_a_reason_is_refused(user, days, reason):
    request = file(user)
    with pytest.raises(ValidationError):
        services.dsar_extend(request=request, actor=StaffFactory(), reason=reason, days=days)
    request.refresh_from_db()
    assert request.extended_at is None


def test_a_denial_needs_a_reason_from_the_fixed_list(user):
    request = file(user)
    with pytest.raises(ValidationError):
        services.dsar_deny(request=request, actor=StaffFactory(), reason="i_dont_like_it")
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.PENDING


def test_a_legal_exemption_must_name_its_ground(user):
    request = file(user)
    staff = StaffFactory()
    with pytest.raises(ValidationError):
        services.dsar_deny(request=request, actor=staff, reason="legal_exemption")
    services.dsar_deny(
        request=request, actor=staff, reason="legal_exemption", exemption="criminal_justice"
    )
    assert DataSubjectRequest.objects.get(pk=request.pk).legal_exemption == "criminal_justice"


def test_the_database_refuses_a_denial_without_a_reason(user):
    request = file(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataSubjectRequest.objects.filter(pk=request.pk).update(status="denied")


def test_a_second_request_of_the_same_type_joins_the_open_one(user):
    first = file(user, details="First question")
    second, created = services.dsar_request_create(
        subject=user,
        requester=user,
        type="question",
        details="Second question",
        reauthenticated=True,
    )
    assert (second.pk, created) == (first.pk, False)
    assert DataSubjectRequest.objects.count() == 1
    assert first.messages.get().body == "Second question"


def test_a_question_waits_for_staff_and_their_answer_completes_it(user):
    request = file(user)
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL
    services.dsar_reply_and_close(
        request=request, actor=StaffFactory(), body="We hold your profile."
    )
    assert request.status == Status.COMPLETED
    assert request.messages.get().from_staff


def test_a_restriction_stops_optional_processing(user):
    request = file(user, type="restrict", details="")
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert Profile.objects.get(user=user).optional_processing_stopped_at is not None


def test_a_failing_engine_leaves_a_failed_request_staff_can_retry(user, monkeypatch):
    def broken(request):
        raise RuntimeError("disk on fire for user@example.org")

    monkeypatch.setattr("requests_dsar.engines.run_engine", broken)
    request = file(user, type="restrict", details="")
    with pytest.raises(RuntimeError):
        services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    # Only the error's type is kept: messages can carry personal data.
    assert (request.status, request.failure_message) == (Status.FAILED, "RuntimeError")
    monkeypatch.undo()
    services.dsar_retry(request=request, actor=StaffFactory())
    services.dsar_process(request_id=request.pk)
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.COMPLETED


def test_processing_twice_does_the_work_once(user):
    request = file(user, type="restrict", details="")
    services.dsar_process(request_id=request.pk)
    services.dsar_process(request_id=request.pk)
    assert request.corrections.count() == 1
    assert RequestEvent.objects.filter(request=request, to_status="completed").count() == 1


def test_every_change_lands_in_a_verifiable_audit_chain(user):
    request = file(user)
    services.dsar_cancel(request=request, actor=user)
    actions = list(AuditLogEntry.objects.values_list("action", flat=True))
    assert actions == ["dsar.created", "dsar.transition", "dsar.transition"]
    assert audit_verify().ok


class TestEmailCode:
    def issue(self, user, django_capture_on_commit_callbacks):
        request = file(user, reauthenticated=False)
        with django_capture_on_commit_callbacks(execute=True):
            services.dsar_code_issue(request=request)
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
        return request, code

    def test_the_right_code_verifies_the_request(self, user, django_capture_on_commit_callbacks):
        request, code = self.issue(user, django_capture_on_commit_callbacks)
        assert services.dsar_code_check(request=request, code=code) == "ok"
        assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.PENDING

    def test_the_code_goes_to_the_accounts_address(self, user, django_capture_on_commit_callbacks):
        self.issue(user, django_capture_on_commit_callbacks)
        assert mail.outbox[-1].to == [user.email]

    def test_wrong_codes_lock_the_code_after_the_limit(
        self, user, settings, django_capture_on_commit_callbacks
    ):
        settings.DSAR_CODE_MAX_ATTEMPTS = 3
        request, code = self.issue(user, django_capture_on_commit_callbacks)
        results = [services.dsar_code_check(request=request, code="000000x") for _ in range(3)]
        assert results == ["wrong", "wrong", "locked"]
        assert services.dsar_code_check(request=request, code=code) == "locked"

    def test_an_expired_code_is_refused(self, user, django_capture_on_commit_callbacks):
        request, code = self.issue(user, django_capture_on_commit_callbacks)
        with time_machine.travel(timezone.now() + datetime.timedelta(hours=1)):
            assert services.dsar_code_check(request=request, code=code) == "expired"
        assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.IDENTITY_UNVERIFIED


def test_a_closed_request_takes_no_more_messages(user):
    request = file(user)
    services.dsar_cancel(request=request, actor=user)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        services.dsar_message_post(
            request=request, author=user, body="One more thing", from_staff=False
        )
    assert not request.messages.exists()
