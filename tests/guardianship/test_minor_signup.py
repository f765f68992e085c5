"""Who enters the guardian flow: a minor by date of birth and region at sign-up (with only what
reaches their guardian), a later profile edit that shows a minor, a staff correction."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Profile, User
from consent import ledger
from consent.models import ConsentEvent, Decision
from consent.services import consent_give
from consent.signup_form import SignupExtraForm
from guardianship.models import MinorAccount
from tests.factories import ProfileFactory, PurposeFactory, StaffFactory, UserFactory
from tests.guardianship.factories import MinorAccountFactory, signed_in, signup_data, years_ago

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


# --- Choices offered only to adults ----------------------------------------------------------


def adult_data(**overrides: str) -> dict[str, str]:
    return signup_data(birth_date=years_ago(30).isoformat(), **overrides)


def test_the_first_sign_up_page_offers_no_purpose_not_for_minors(client, purposes):
    html = client.get(reverse("account_signup")).content.decode()
    assert 'name="consent_ads"' not in html
    assert 'name="consent_newsletter"' in html


def test_the_third_party_sign_up_form_offers_no_purpose_not_for_minors_before_an_age(purposes):
    # allauth's third-party sign-up form is built on this one and starts unbound too.
    assert "consent_ads" not in SignupExtraForm(initial={"email": EMAIL}).fields


def test_an_adults_first_submit_adds_the_adult_only_choices_and_creates_nothing_yet(
    client, purposes
):
    response = client.post(reverse("account_signup"), adult_data())
    html = response.content.decode()
    assert "you have more optional choices below" in html
    assert "enter your password again" in html
    assert re.search(r'<input type="checkbox" name="consent_ads"(?![^>]*checked)[^>]*>', html)
    assert not User.objects.exists()


def test_an_adult_signs_up_with_the_adult_only_choice_they_were_shown(client, purposes):
    shown = client.post(reverse("account_signup"), adult_data()).content.decode()
    marker = re.search(r'name="adult_choices_shown" value="([^"]*)"', shown)
    assert marker is not None
    client.post(
        reverse("account_signup"),
        adult_data(consent_ads="on", adult_choices_shown=marker.group(1)),
    )
    user = User.objects.get(email=EMAIL)
    assert ledger.is_allowed(ledger.user_subject_key(user.pk), purposes[1]).allowed


def test_a_minor_under_full_age_is_never_shown_the_adult_only_choices(client, purposes):
    # 17 in Germany: no guardian needed, but still no profiling or advertising.
    response = client.post(
        reverse("account_signup"), signup_data(birth_date=years_ago(17).isoformat())
    )
    assert 'name="consent_ads"' not in response.content.decode()
    assert User.objects.filter(email=EMAIL).exists()


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


# --- Through the pages that change a date of birth ----------------------------------------------


def test_the_profile_page_showing_a_minor_enters_the_flow_and_leads_to_the_waiting_page():
    user = UserFactory()
    profile = ProfileFactory(user=user, birth_date=years_ago(30), region="DE")
    client = signed_in(user)
    response = client.post(
        reverse("dashboard:profile"),
        {
            "name": profile.name,
            "nickname": profile.nickname,
            "occupation": profile.occupation,
            "signature": profile.signature,
            "gender": profile.gender,
            "birth_date": years_ago(14).isoformat(),
            "region": "DE",
            "education": profile.education,
            "bio": profile.bio,
        },
    )
    assert response.status_code == 302
    account = MinorAccount.objects.get(user=user)
    assert (account.status, account.reason) == ("awaiting_guardian", "profile")
    assert client.get(reverse("dashboard:home"))["Location"] == reverse("minor:waiting")


def admin_form_data(page, **overrides: str) -> dict[str, object]:
    """What the admin change page would post back unchanged (its form and every inline's),
    with `overrides` by field name."""
    data: dict[str, object] = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            if value is True:
                value = "on"
            elif isinstance(value, datetime.date):
                value = value.isoformat()
            data[form.add_prefix(name)] = value
    data.update(overrides)
    return data


def test_a_staff_correction_in_the_users_admin_profile_inline_suspends_a_minor():
    from tests.factories import PrivacyOfficerFactory
    from tests.requests_dsar import staff

    user = UserFactory()
    ProfileFactory(user=user, birth_date=years_ago(30), region="DE")
    admin = staff.signed_in(PrivacyOfficerFactory())
    url = reverse("admin:accounts_user_change", args=[user.pk])
    page = admin.get(url)
    response = admin.post(url, admin_form_data(page, **{"profile-0-birth_date": "2014-01-01"}))
    assert response.status_code == 302, response.content.decode()[:3000]
    account = MinorAccount.objects.get(user=user)
    assert (account.status, account.reason) == ("suspended", "staff")
    assert Profile.objects.get(user=user).birth_date == datetime.date(2014, 1, 1)
