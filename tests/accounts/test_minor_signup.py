"""Who enters the guardian flow: a minor by date of birth and region at sign-up (with only what
reaches their guardian), a later profile edit that shows a minor, a staff correction."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, MinorAccount, Profile, User
from accounts.signup_forms import SignupExtraForm
from consent import ledger
from consent.models import ConsentEvent, Decision
from consent.services import consent_give
from tests.accounts.guardian_factories import (
    MinorAccountFactory,
    signed_in,
    signup_data,
    years_ago,
)
from tests.factories import ProfileFactory, PurposeFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "young.person@example.org"


@pytest.fixture
def purposes():
    return (
        PurposeFactory(key="newsletter", name="Newsletter"),
        PurposeFactory(key="ads", name="Personalised ads", offered_to_minors=False),
    )


@pytest.mark.parametrize(
    ("region", "age", "threshold"),
    [("DE", 15, 16), ("FR", 14, 15), ("US", 12, 13), ("CN", 17, 18), ("IN", 17, 18)],
)
def test_a_minor_by_their_regions_age_signs_up_into_an_account_waiting_for_a_guardian(
    client, region, age, threshold
):
    client.post(
        reverse("account_signup"),
        signup_data(birth_date=years_ago(age).isoformat(), region=region),
    )
    account = MinorAccount.objects.get(user__email=EMAIL)
    assert (account.status, account.reason) == ("awaiting_guardian", "signup")
    assert (account.region, account.age_threshold) == (region, threshold)
    assert account.adult_on == years_ago(age).replace(year=years_ago(age).year + threshold)


@pytest.mark.parametrize(("region", "age"), [("DE", 16), ("FR", 15), ("US", 13), ("GB", 13)])
def test_someone_at_their_regions_age_signs_up_as_an_ordinary_account(client, region, age):
    client.post(
        reverse("account_signup"),
        signup_data(birth_date=years_ago(age).isoformat(), region=region),
    )
    assert User.objects.filter(email=EMAIL).exists()
    assert not MinorAccount.objects.exists()


def test_a_minors_account_holds_only_what_reaches_the_guardian_and_no_consent(client, purposes):
    client.post(reverse("account_signup"), signup_data())
    user = User.objects.get(email=EMAIL)
    profile = Profile.objects.get(user=user)
    assert (profile.birth_date, profile.region.code) == (years_ago(14), "DE")
    assert (profile.name, profile.nickname, profile.bio, profile.gender) == ("", "", "", "")
    assert not ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk)).exists()


def test_the_decision_is_due_after_the_configured_number_of_days(client, settings):
    settings.GUARDIAN_DECISION_DAYS = 3
    client.post(reverse("account_signup"), signup_data())
    decide_by = MinorAccount.objects.get().decide_by
    assert abs(decide_by - (timezone.now() + datetime.timedelta(days=3))) < datetime.timedelta(
        minutes=1
    )


def test_a_minor_who_ticks_an_optional_choice_is_told_their_guardian_makes_it(client, purposes):
    response = client.post(reverse("account_signup"), signup_data(consent_newsletter="on"))
    html = response.content.decode()
    assert "your parent or guardian makes these choices" in html
    assert 'name="consent_newsletter"' not in html
    assert not User.objects.exists()


def test_a_minor_cannot_sign_up_with_a_third_party_account():
    form = SignupExtraForm(data=signup_data())
    form.sociallogin = object()  # what allauth's third-party sign-up form carries
    assert not form.is_valid()
    assert "sign up with your e-mail address instead" in str(form.non_field_errors())


def test_a_minor_signing_in_lands_on_the_waiting_page():
    account = MinorAccountFactory()
    response = signed_in(account.user).get(reverse("dashboard:home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("minor:waiting")
    assert "Waiting for your guardian" in response.content.decode()


# --- Found later ----------------------------------------------------------------------------


def test_a_profile_edit_that_shows_a_minor_enters_the_same_flow(purposes):
    user = UserFactory()
    ProfileFactory(user=user, birth_date=years_ago(30), region="DE")
    consent_give(user=user, purpose=purposes[0], method="consent_center", actor=user)
    services.api_token_create(user=user, name="laptop", lifetime=None)
    services.profile_update(user=user, actor=user, data={"birth_date": years_ago(14)})
    account = MinorAccount.objects.get(user=user)
    assert (account.status, account.reason) == ("awaiting_guardian", "profile")
    # What they agreed to alone is withdrawn (by the system), their API tokens revoked.
    latest = ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk)).last()
    assert (latest.decision, latest.actor) == (Decision.WITHDRAWN, "system")
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_minor_does_not_leave_their_guardians_care_by_making_themselves_older(purposes):
    account = MinorAccountFactory(status=MinorAccount.Status.ACTIVE, decide_by=None)
    before = account.adult_on
    services.profile_update(
        user=account.user, actor=account.user, data={"birth_date": years_ago(40)}
    )
    account.refresh_from_db()
    assert (account.status, account.adult_on) == ("active", before)
    from consent.services import purposes_offered_to

    assert [p.key for p in purposes_offered_to(account.user)] == ["newsletter"]


def test_a_staff_correction_showing_a_minor_suspends_the_account_and_tells_them(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    ProfileFactory(user=user, birth_date=years_ago(30), region="DE")
    with django_capture_on_commit_callbacks(execute=True):
        services.profile_update(user=user, actor=StaffFactory(), data={"birth_date": years_ago(12)})
    account = MinorAccount.objects.get(user=user)
    assert (account.status, account.reason) == ("suspended", "staff")
    assert mail.outbox[-1].to == [user.email]
    assert "guardian" in mail.outbox[-1].body


def test_a_staff_correction_showing_an_adult_ends_the_wait():
    account = MinorAccountFactory()
    services.profile_update(
        user=account.user, actor=StaffFactory(), data={"birth_date": years_ago(30)}
    )
    account.refresh_from_db()
    assert account.status == "ended"
