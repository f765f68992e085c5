"""How a guardianship ends: revoked by the guardian (suspension, then erasure after the cool-off)
or at the minor's coming of age (the daily sweep: the user decides alone from then on)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts import services
from consent import ledger
from consent import services as consent_services
from consent.models import ConsentEvent, Decision, Method
from core.models import AuditLogEntry
from guardianship import lifecycle as guardian_lifecycle
from guardianship import services as guardian_services
from guardianship import tasks
from guardianship.flow import minor_accounts_sweep
from guardianship.models import Guardianship, MinorAccount
from notices.models import Message
from tests.factories import PurposeFactory
from tests.guardianship.dashboard_helpers import make_guardianship, make_minor, signed_in

pytestmark = pytest.mark.django_db

ADULT_ON = datetime.date(2026, 3, 31)
MORNING_OF = datetime.datetime(2026, 3, 31, 0, 5, tzinfo=datetime.UTC)
EVE_OF = datetime.datetime(2026, 3, 30, 23, 59, tzinfo=datetime.UTC)


TODAY = datetime.datetime(2026, 2, 10, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _before_the_day():
    """Every test starts some weeks before the minor's day; some then move to the day."""
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def guardianship(_before_the_day):
    return make_guardianship(minor=make_minor(adult_on=ADULT_ON))


def account_of(guardianship):
    return MinorAccount.objects.get(user=guardianship.minor)


def give_for(guardianship, purpose):
    return guardian_services.guardian_consent_decide(
        guardianship=guardianship, purpose=purpose, decision=Decision.GIVEN
    )


# --- Revocation --------------------------------------------------------------------------------


def test_revocation_suspends_the_minor_until_erasure_after_the_cool_off(guardianship, settings):
    settings.GUARDIAN_REVOCATION_COOL_OFF_DAYS = 10
    revocation = guardian_lifecycle.guardianship_revoke(
        guardianship=guardianship, actor=guardianship.guardian
    )
    account = account_of(guardianship)
    assert account.status == MinorAccount.Status.SUSPENDED
    assert account.decide_by == TODAY + datetime.timedelta(days=10)
    assert revocation.erase_after == account.decide_by


def test_revocation_withdraws_the_consents_given_for_the_minor_as_the_guardian(guardianship):
    purpose = PurposeFactory(key="newsletter", offered_to_minors=True)
    give_for(guardianship, purpose)
    guardian_lifecycle.guardianship_revoke(guardianship=guardianship, actor=guardianship.guardian)
    latest = ConsentEvent.objects.filter(
        subject_key=ledger.user_subject_key(guardianship.minor_id)
    ).latest("seq")
    assert (latest.decision, latest.actor, latest.method) == (
        Decision.WITHDRAWN,
        "guardian",
        Method.GUARDIAN,
    )


def test_only_the_guardian_can_revoke_their_approval(guardianship):
    stranger = make_guardianship().guardian
    with pytest.raises(guardian_lifecycle.GuardianshipNotInForce):
        guardian_lifecycle.guardianship_revoke(guardianship=guardianship, actor=stranger)
    assert account_of(guardianship).status == MinorAccount.Status.ACTIVE


def test_revocation_is_audited_with_ids_only(guardianship):
    guardian_lifecycle.guardianship_revoke(guardianship=guardianship, actor=guardianship.guardian)
    entry = AuditLogEntry.objects.get(action="guardian.revoked")
    assert (entry.actor_user_id, entry.target_id) == (
        guardianship.guardian_id,
        str(guardianship.minor_id),
    )
    assert guardianship.minor.email not in str(entry.data)


def test_the_revocation_notices_carry_no_personal_data(guardianship):
    guardian_lifecycle.guardianship_revoke(guardianship=guardianship, actor=guardianship.guardian)
    for message in Message.objects.all():
        text = message.title + message.body
        assert guardianship.minor.email not in text
        assert guardianship.guardian.email not in text


# --- Coming of age -----------------------------------------------------------------------------


def test_before_the_day_nothing_ends(guardianship):
    with time_machine.travel(EVE_OF, tick=False):
        assert guardian_lifecycle.guardianships_end_due() == 0
    guardianship.refresh_from_db()
    assert guardianship.status == Guardianship.Status.APPROVED


def test_on_the_day_the_sweep_ends_the_guardianship_and_the_minor_account(guardianship):
    with time_machine.travel(MORNING_OF, tick=False):
        assert guardian_lifecycle.guardianships_end_due() == 1
    guardianship.refresh_from_db()
    account = account_of(guardianship)
    assert (guardianship.status, guardianship.ended_at) == (Guardianship.Status.ENDED, MORNING_OF)
    assert (account.status, account.ended_at) == (MinorAccount.Status.ENDED, MORNING_OF)


def test_coming_of_age_tells_the_user_and_the_guardian(guardianship):
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
    told = Message.objects.filter(category="account_security")
    assert set(told.values_list("user", flat=True)) == {
        guardianship.minor_id,
        guardianship.guardian_id,
    }


def test_the_sweep_is_idempotent(guardianship):
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
        assert guardian_lifecycle.guardianships_end_due() == 0
        tasks.end_guardianships_at_majority.delay()
    assert Message.objects.count() == 2


def test_the_daily_task_is_scheduled():
    entry = django_settings.CELERY_BEAT_SCHEDULE["guardianships-coming-of-age"]
    assert entry["task"] == "guardianship.tasks.end_guardianships_at_majority"


def test_a_late_sweep_still_ends_a_guardianship_whose_day_has_passed(guardianship):
    with time_machine.travel(MORNING_OF + datetime.timedelta(days=3), tick=False):
        assert guardian_lifecycle.guardianships_end_due() == 1


def test_after_coming_of_age_the_former_guardian_gets_404_on_web_and_api(guardianship):
    guardian, minor = guardianship.guardian, guardianship.minor
    _row, secret = services.api_token_create(user=guardian, name="t", lifetime=None)
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
        web = signed_in(guardian).get(reverse("guardian:profile", args=[minor.pk]))
        api = Client(headers={"Authorization": f"Bearer {secret}"}).get(
            f"/api/v1/guardian/minors/{minor.pk}/"
        )
    assert (web.status_code, api.status_code) == (404, 404)


def test_after_coming_of_age_nothing_new_is_switched_on_but_adult_purposes_are_theirs_to_choose(
    guardianship,
):
    ads = PurposeFactory(key="ads", offered_to_minors=False)
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
        offered = consent_services.purposes_offered_to(guardianship.minor)
        assert ads in offered
        assert not ledger.is_allowed(ledger.user_subject_key(guardianship.minor_id), ads).allowed


def test_the_guardian_can_no_longer_decide_for_the_former_minor(guardianship):
    purpose = PurposeFactory(key="newsletter", offered_to_minors=True)
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
        with pytest.raises(PermissionDenied):
            give_for(guardianship, purpose)


def test_after_the_cool_off_the_guardian_flows_sweep_erases_the_revoked_minor(guardianship):
    """The contract with the guardian flow: a suspended account whose `decide_by` passed is
    erased by its sweep, through a recorded deletion request."""
    revocation = guardian_lifecycle.guardianship_revoke(
        guardianship=guardianship, actor=guardianship.guardian
    )
    assert (
        minor_accounts_sweep(
            now=revocation.erase_after - datetime.timedelta(minutes=1)
        ).erasures_started
        == 0
    )
    assert minor_accounts_sweep(now=revocation.erase_after).erasures_started == 1
    account = account_of(guardianship)
    assert account.status == MinorAccount.Status.ERASING
    assert (account.erasure_request.type, account.erasure_request.subject_id) == (
        "delete",
        guardianship.minor_id,
    )


def test_after_coming_of_age_the_former_guardian_no_longer_sees_the_requests_they_filed(
    guardianship,
):
    from requests_dsar.models import DataSubjectRequest, RequestType
    from requests_dsar.selectors import may_follow, requests_for

    guardian, minor = guardianship.guardian, guardianship.minor
    filed = DataSubjectRequest.objects.create(
        type=RequestType.COPY, subject=minor, requester=guardian
    )
    assert list(requests_for(guardian)) == [filed]
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
        assert list(requests_for(guardian)) == []
        assert not may_follow(guardian, filed)
        page = signed_in(guardian).get(reverse("dsar:detail", args=[filed.public_id]))
        # The former minor still sees their own request.
        assert list(requests_for(minor)) == [filed]
    assert page.status_code == 404


def test_after_coming_of_age_updates_of_a_request_the_guardian_filed_go_to_the_user(guardianship):
    from requests_dsar.models import DataSubjectRequest, RequestType
    from requests_dsar.notifications import notify_requester

    guardian, minor = guardianship.guardian, guardianship.minor
    filed = DataSubjectRequest.objects.create(
        type=RequestType.COPY, subject=minor, requester=guardian
    )
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_lifecycle.guardianships_end_due()
        Message.objects.all().delete()
        notify_requester(request_id=filed.pk, event="message")
    assert list(Message.objects.values_list("user_id", flat=True)) == [minor.pk]


# --- Coming of age while still waiting for a guardian --------------------------------------------


@pytest.fixture
def waiting_minor(_before_the_day):
    """A minor invited their guardian, who has not decided; they come of age on ADULT_ON."""
    minor = make_minor(adult_on=ADULT_ON)
    MinorAccount.objects.filter(user=minor).update(
        status=MinorAccount.Status.AWAITING_GUARDIAN,
        approved_at=None,
        decide_by=MORNING_OF + datetime.timedelta(hours=1),
    )
    make_guardianship(minor=minor, status=Guardianship.Status.INVITED, approved_at=None)
    return MinorAccount.objects.get(user=minor)


def test_a_minor_who_comes_of_age_awaiting_a_guardian_is_not_erased_but_released(waiting_minor):
    after_the_deadline = MORNING_OF + datetime.timedelta(days=1)
    with time_machine.travel(after_the_deadline, tick=False):
        assert minor_accounts_sweep().erasures_started == 0
    waiting_minor.refresh_from_db()
    assert (waiting_minor.status, waiting_minor.decide_by) == (MinorAccount.Status.ENDED, None)
    assert not waiting_minor.user.data_requests.exists()


def test_the_daily_sweep_ends_the_wait_of_a_minor_who_came_of_age_and_tells_them(waiting_minor):
    with time_machine.travel(MORNING_OF, tick=False):
        assert guardian_lifecycle.guardianships_end_due() == 1
    waiting_minor.refresh_from_db()
    assert waiting_minor.status == MinorAccount.Status.ENDED
    assert Message.objects.get(user=waiting_minor.user).title == "Your account is now fully yours"
    # The invitation still open can no longer be used.
    assert Guardianship.objects.get(minor=waiting_minor.user).status == Guardianship.Status.EXPIRED


def test_a_minor_suspended_by_a_revocation_who_comes_of_age_is_not_erased_after_the_cool_off(
    guardianship, settings
):
    settings.GUARDIAN_REVOCATION_COOL_OFF_DAYS = 60  # the cool-off ends after their birthday
    revocation = guardian_lifecycle.guardianship_revoke(
        guardianship=guardianship, actor=guardianship.guardian
    )
    with time_machine.travel(revocation.erase_after, tick=False):
        assert minor_accounts_sweep().erasures_started == 0
    assert account_of(guardianship).status == MinorAccount.Status.ENDED


def test_a_guardians_decline_after_the_minor_came_of_age_erases_nothing(waiting_minor):
    from guardianship.flow import guardian_decline

    invitation = Guardianship.objects.get(minor=waiting_minor.user)
    with time_machine.travel(MORNING_OF, tick=False):
        guardian_decline(guardianship=invitation, guardian=invitation.guardian)
    waiting_minor.refresh_from_db()
    assert waiting_minor.status == MinorAccount.Status.ENDED
    assert waiting_minor.erasure_request is None
