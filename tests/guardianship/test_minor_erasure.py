"""No guardian's approval (declined, or nothing by `decide_by`): the minor is told, then erased
through the requests engine (a recorded `delete` request, actor system) with no residue. And
staff's "minor without guardian consent", which starts the same flow."""

import datetime

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.models import AuditLogEntry
from guardianship import flow as flow
from guardianship.models import Guardianship, MinorAccount
from requests_dsar.models import DataSubjectRequest, ErasureRecord
from tests.factories import PrivacyOfficerFactory, ProfileFactory, UserFactory
from tests.guardianship.factories import (
    AdultFactory,
    GuardianshipFactory,
    MinorAccountFactory,
    years_ago,
)
from tests.requests_dsar import staff
from tests.requests_dsar.residue import find_residue

pytestmark = pytest.mark.django_db

GUARDIAN_EMAIL = "unknown.parent@example.net"


@pytest.fixture
def invited(django_capture_on_commit_callbacks):
    minor = MinorAccountFactory().user
    with django_capture_on_commit_callbacks(execute=True):
        guardianship = flow.guardian_invite(minor=minor, guardian_email=GUARDIAN_EMAIL)
    mail.outbox.clear()
    return guardianship


def decline(guardianship, capture):
    with capture(execute=True):
        flow.guardian_decline(
            guardianship=guardianship, guardian=None, nonce=guardianship.invitation_nonce
        )


def test_a_declined_minor_is_erased_with_no_residue(invited, django_capture_on_commit_callbacks):
    minor_email = invited.minor.email
    decline(invited, django_capture_on_commit_callbacks)
    assert find_residue({"minor": minor_email, "guardian": GUARDIAN_EMAIL}) == {}
    assert not MinorAccount.objects.exists()
    assert not Guardianship.objects.exists()
    assert not User.objects.get(pk=invited.minor_id).is_active


def test_the_erasure_is_a_recorded_delete_request_by_the_system(
    invited, django_capture_on_commit_callbacks
):
    decline(invited, django_capture_on_commit_callbacks)
    request = DataSubjectRequest.objects.get(type="delete", subject_id=invited.minor_id)
    assert (request.status, request.requester_id) == ("completed", None)
    assert request.verification_method == "system"
    assert set(request.events.values_list("actor_role", flat=True)) == {"system"}
    assert ErasureRecord.objects.filter(request=request).exists()


def test_the_minor_is_told_why_before_the_erasure(invited, django_capture_on_commit_callbacks):
    minor_email = invited.minor.email
    decline(invited, django_capture_on_commit_callbacks)
    told = [m for m in mail.outbox if m.to == [minor_email]]
    assert "declined your account" in told[-1].body
    assert not any("As you asked" in m.body for m in told)  # not the user-request wording
    # Nor a "we received your request" notice for a request the minor never made.
    assert not any("received" in m.subject.lower() for m in told)


def test_no_decision_by_the_deadline_erases_the_minor(invited, django_capture_on_commit_callbacks):
    minor_email = invited.minor.email
    later = timezone.now() + datetime.timedelta(days=8)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert flow.minor_accounts_sweep().erasures_started == 1
    assert "Nobody approved your account" in mail.outbox[-1].body
    assert find_residue({"minor": minor_email, "guardian": GUARDIAN_EMAIL}) == {}


def test_the_sweep_starts_one_erasure_however_often_it_runs(invited):
    MinorAccount.objects.update(decide_by=timezone.now() - datetime.timedelta(minutes=1))
    flow.minor_accounts_sweep()
    flow.minor_accounts_sweep()
    assert DataSubjectRequest.objects.filter(type="delete").count() == 1
    assert MinorAccount.objects.get().status == "erasing"


def test_a_minor_suspended_after_revocation_is_erased_when_the_cool_off_ends():
    account = MinorAccountFactory(
        status=MinorAccount.Status.SUSPENDED, decide_by=timezone.now() - datetime.timedelta(hours=1)
    )
    GuardianshipFactory(minor=account.user, status=Guardianship.Status.REVOKED)
    assert flow.minor_accounts_sweep().erasures_started == 1


def test_an_approved_minor_is_never_swept():
    MinorAccountFactory(status=MinorAccount.Status.ACTIVE, decide_by=None)
    MinorAccountFactory(
        status=MinorAccount.Status.ACTIVE, decide_by=timezone.now() - datetime.timedelta(days=1)
    )
    assert flow.minor_accounts_sweep().erasures_started == 0


def test_a_declined_invitation_cannot_be_approved_afterwards(invited):
    flow.guardian_decline(guardianship=invited, guardian=None, nonce=invited.invitation_nonce)
    with pytest.raises(flow.LinkRefused):
        flow.guardian_accept(
            guardianship=invited, guardian=AdultFactory(), nonce=invited.invitation_nonce
        )


# --- Staff: "minor without guardian consent" ---------------------------------------------------


def run_action(client, user):
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "minor_without_guardian_consent", "_selected_action": [user.pk]},
        follow=True,
    )


@pytest.fixture
def found_minor():
    """An ordinary account whose date of birth shows a minor (no guardian was ever asked)."""
    user = UserFactory()
    ProfileFactory(user=user, birth_date=years_ago(12), region="US")
    return user


def test_staff_suspend_a_minor_found_without_consent_and_the_flow_starts_at_sign_in(
    found_minor, django_capture_on_commit_callbacks, client
):
    officer = PrivacyOfficerFactory()
    admin = staff.signed_in(officer)
    client.force_login(found_minor)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin, found_minor)
    account = MinorAccount.objects.get(user=found_minor)
    assert (account.status, account.reason) == ("suspended", "staff")
    assert account.decide_by is not None
    assert not UserSession.objects.filter(user=found_minor).exists()
    entry = AuditLogEntry.objects.get(action="minor.guardian_required")
    assert (entry.actor_user_id, entry.actor_role) == (officer.pk, "staff")
    assert mail.outbox[-1].to == [found_minor.email]
    # At their next sign-in, only the waiting page is open, where they name a guardian.
    client.force_login(found_minor)
    assert client.get(reverse("dashboard:home"))["Location"] == reverse("minor:waiting")


def test_staff_cannot_flag_someone_whose_date_of_birth_shows_an_adult():
    adult = AdultFactory()
    run_action(staff.signed_in(PrivacyOfficerFactory()), adult)
    assert not MinorAccount.objects.exists()


def test_a_support_agent_is_not_offered_the_action(found_minor):
    agent = PrivacyOfficerFactory()
    agent.groups.set([Group.objects.get(name="Support agents")])
    run_action(staff.signed_in(agent), found_minor)
    assert not MinorAccount.objects.exists()


def test_a_minor_staff_flagged_is_erased_when_no_guardian_approves_by_the_deadline(
    found_minor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_action(staff.signed_in(PrivacyOfficerFactory()), found_minor)
    decide_by = MinorAccount.objects.get(user=found_minor).decide_by
    with time_machine.travel(decide_by - datetime.timedelta(minutes=1)):
        assert flow.minor_accounts_sweep().erasures_started == 0
    with time_machine.travel(decide_by), django_capture_on_commit_callbacks(execute=True):
        assert flow.minor_accounts_sweep().erasures_started == 1
    request = DataSubjectRequest.objects.get(type="delete", subject_id=found_minor.pk)
    assert (request.status, request.requester_id) == ("completed", None)
    assert not User.objects.get(pk=found_minor.pk).is_active
