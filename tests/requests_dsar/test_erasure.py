"""The erasure engine: a deletion leaves no residue, proves itself, and survives a re-run."""

import datetime
import logging

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import AccessLogEntry, LoginEvent, Profile, User
from core.models import AuditLogEntry
from requests_dsar import erasure, services, workflow
from requests_dsar.models import DataSubjectRequest, ErasureRecord, RequestEvent, Status
from tests.factories import DEFAULT_PASSWORD, LoginEventFactory, ProfileFactory, StaffFactory
from tests.requests_dsar.residue import find_residue, rich_account

pytestmark = pytest.mark.django_db


def confirmations():
    return [m for m in mail.outbox if "being deleted" in m.subject]


@pytest.fixture
def delete(django_capture_on_commit_callbacks):
    """File a verified deletion and run it after its cool-off, as the worker would."""

    def file_and_run(user, scope=None, run=True, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            request, _created = services.dsar_request_create(
                subject=user,
                requester=user,
                type="delete",
                scope=scope,
                reauthenticated=True,
                **extra,
            )
        assert request.status == Status.PENDING  # the cool-off holds it
        if run:
            with (
                time_machine.travel(request.act_after + datetime.timedelta(minutes=1)),
                django_capture_on_commit_callbacks(execute=True),
            ):
                services.dsar_process(request_id=request.pk)
        request.refresh_from_db()
        return request

    return file_and_run


def test_erasure_leaves_no_residue_in_any_table(delete, caplog):
    caplog.set_level(logging.DEBUG)
    account = rich_account()
    values = {**account.values, "reason": f"Goodbye from {account.values['name']}"}

    request = delete(account.user, details=values["reason"], run=False)
    # The scan sees every value beforehand, so an empty scan afterwards means something.
    assert set(find_residue(values)) == set(values)
    with time_machine.travel(request.act_after + datetime.timedelta(minutes=1)):
        services.dsar_process(request_id=request.pk)
    request.refresh_from_db()

    assert request.status == Status.COMPLETED
    assert find_residue(values) == {}
    assert not [value for value in values.values() if value.lower() in caplog.text.lower()]


def test_the_confirmation_goes_to_the_address_before_it_is_erased(delete):
    profile = ProfileFactory()
    address = profile.user.email

    delete(profile.user)

    [message] = confirmations()
    assert message.to == [address]
    assert profile.name not in message.body
    assert User.objects.get(pk=profile.user_id).email.endswith("@erased.invalid")


def test_the_erased_account_cannot_sign_in_and_its_sessions_and_tokens_are_revoked(delete):
    account = rich_account()

    delete(account.user)

    assert not Client().login(username=account.values["email"], password=DEFAULT_PASSWORD)
    assert not SessionStore().exists(account.session_key)
    assert account.client.get(reverse("api:me")).status_code in (401, 403)
    bearer = Client().get(reverse("api:me"), HTTP_AUTHORIZATION=f"Bearer {account.api_secret}")
    assert bearer.status_code == 401


def test_a_deidentified_erasure_record_lists_each_model_with_strategy_and_count(delete):
    account = rich_account()

    request = delete(account.user)

    record = ErasureRecord.objects.get(request=request)
    lines = {line["model"]: line for line in record.summary}
    assert (lines["accounts.LoginEvent"]["strategy"], lines["accounts.LoginEvent"]["rows"]) == (
        "delete",
        3,
    )
    assert lines["accounts.User"]["fields"]["email"] == "erased_email"
    assert record.subject_hash == request.subject_hash == services.subject_hash_for(account.user.pk)


def test_the_request_keeps_its_proof_but_loses_its_free_text(delete):
    profile = ProfileFactory()
    request = delete(profile.user, details="I am moving abroad.", contact_email="me@example.net")

    assert (request.type, request.details, request.contact_email) == ("delete", "", "")
    assert request.subject_hash == services.subject_hash_for(profile.user_id)
    assert request.subject_id == profile.user_id
    transitions = list(request.events.exclude(to_status="").values_list("to_status", flat=True))
    assert transitions == ["identity_unverified", "pending", "in_progress", "completed"]


def test_the_requester_can_cancel_during_the_cool_off_and_nothing_is_erased(delete):
    profile = ProfileFactory()
    request = delete(profile.user, run=False)

    services.dsar_cancel(request=request, actor=profile.user)
    with time_machine.travel(request.act_after + datetime.timedelta(days=1)):
        services.dsar_process(request_id=request.pk)

    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.CANCELLED
    assert Profile.objects.filter(pk=profile.pk).exists()
    assert not ErasureRecord.objects.exists()


def test_a_deletion_in_progress_can_no_longer_be_cancelled(delete, user):
    request = delete(user, run=False)
    services.dsar_transition(request=request, to=Status.IN_PROGRESS, actor=None)

    assert not workflow.can_cancel(request)
    with pytest.raises(workflow.TransitionNotAllowed):
        services.dsar_cancel(request=request, actor=user)


def test_a_deletion_of_chosen_categories_erases_only_those(delete):
    profile = ProfileFactory()
    user = profile.user
    LoginEventFactory(user=user)
    account_services.access_log_append(
        user_id=user.pk,
        ip_address="203.0.113.9",
        method="GET",
        path="/",
        status_code=200,
        user_agent="x",
    )

    request = delete(user, scope={"categories": ["access_log", "login_history"]})

    assert request.status == Status.COMPLETED
    assert not AccessLogEntry.objects.filter(user=user).exists()
    assert not LoginEvent.objects.filter(user=user).exists()
    assert Profile.objects.get(pk=profile.pk).name == profile.name


def test_a_partial_deletion_cannot_name_the_account_itself(user, password):
    # Choosing "account" among categories would look like a deletion but leave the account.
    with pytest.raises(ValidationError, match="whole account"):
        services.dsar_request_create(
            subject=user,
            requester=user,
            type="delete",
            scope={"categories": ["account", "access_log"]},
            reauthenticated=True,
        )
    assert Client().login(username=user.email, password=password)


def staff_with_actions(count=2):
    staff = StaffFactory()
    for _ in range(count):
        LogEntry.objects.create(
            user=staff,
            content_type=ContentType.objects.get_for_model(User),
            object_id="1",
            object_repr="User #1",
            action_flag=CHANGE,
            change_message="[]",
        )
    return staff


def test_a_deletion_that_retains_records_needs_a_privacy_officer_and_keeps_them(
    delete, django_capture_on_commit_callbacks
):
    staff = staff_with_actions(count=2)
    request = delete(staff)
    assert request.status == Status.AWAITING_APPROVAL
    assert User.objects.get(pk=staff.pk).is_active  # nothing erased before approval

    with (
        time_machine.travel(request.act_after + datetime.timedelta(hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.dsar_approve(request=request, actor=StaffFactory())

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert LogEntry.objects.filter(user=staff).count() == 2
    retained = next(line for line in request.erasure_record.summary if line["strategy"] == "retain")
    assert (retained["model"], retained["rows"], retained["legal_basis"] != "") == (
        "admin.LogEntry",
        2,
        True,
    )


def test_a_deletion_with_nothing_to_retain_needs_no_approval(user):
    request = DataSubjectRequest(subject=user, type="delete", scope={})

    assert erasure.retained_categories(request) == []


def test_running_the_erasure_twice_erases_once_and_keeps_one_record(delete):
    account = rich_account()
    request = delete(account.user, run=False)
    services.dsar_transition(request=request, to=Status.IN_PROGRESS, actor=None)

    erasure.fulfil_erasure(request)
    first = list(ErasureRecord.objects.get(request=request).summary)
    erasure.fulfil_erasure(request)  # a redelivered task

    assert ErasureRecord.objects.get(request=request).summary == first
    assert AuditLogEntry.objects.filter(action="dsar.erased").count() == 1
    assert len(confirmations()) == 1


def test_a_crash_midway_leaves_a_consistent_state_that_a_retry_finishes(
    delete, monkeypatch, django_capture_on_commit_callbacks
):
    account = rich_account()
    real_apply = erasure.apply_strategy

    def crash_at_two_factor(entry, rows):
        if entry.model_label == "mfa.Authenticator":
            raise ValueError(f"boom {account.values['email']}")
        return real_apply(entry, rows)

    monkeypatch.setattr(erasure, "apply_strategy", crash_at_two_factor)
    with pytest.raises(erasure.ErasureError) as raised:
        delete(account.user)
    request = DataSubjectRequest.objects.get(subject=account.user, type="delete")
    assert request.status == Status.FAILED
    assert account.values["email"] not in str(raised.value) + request.failure_message
    # Entries before the crash are done and recorded, the rest untouched; the account is locked.
    assert not LoginEvent.objects.filter(user=account.user).exists()
    assert Authenticator.objects.filter(user=account.user).exists()
    user = User.objects.get(pk=account.user.pk)
    assert (user.email, user.is_active) == (account.values["email"], False)

    monkeypatch.undo()
    with (
        time_machine.travel(request.act_after + datetime.timedelta(hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.dsar_retry(request=request, actor=StaffFactory())

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    lines = {line["model"]: line["rows"] for line in request.erasure_record.summary}
    assert (lines["accounts.LoginEvent"], lines["mfa.Authenticator"]) == (3, 1)
    assert find_residue(account.values) == {}
    assert len(confirmations()) == 1
    assert RequestEvent.objects.filter(request=request, to_status="completed").count() == 1


def test_erasing_the_account_closes_its_other_open_requests(delete, user):
    question, _ = services.dsar_request_create(
        subject=user, requester=user, type="question", details="Still there?", reauthenticated=True
    )
    delete(user)
    question.refresh_from_db()
    assert question.status == Status.CANCELLED
    assert question.details == ""


def test_a_legal_hold_stops_the_erasure_until_an_officer_decides(delete):
    from retention.models import LegalHold
    from tests.factories import PrivacyOfficerFactory

    user = rich_account().user
    officer = PrivacyOfficerFactory()
    hold = LegalHold.objects.create(user=user, reason="Litigation", set_by=officer)
    request = delete(user)
    assert request.status == Status.AWAITING_APPROVAL
    assert User.objects.get(pk=user.pk).is_active  # nothing erased
    with pytest.raises(ValidationError, match="legal hold"):
        services.dsar_approve(request=request, actor=officer)
    LegalHold.objects.filter(pk=hold.pk).update(released_at=hold.created_at)
    services.dsar_approve(request=request, actor=officer)
    assert DataSubjectRequest.objects.get(pk=request.pk).status == Status.PENDING
