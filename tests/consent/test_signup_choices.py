"""Sign-up: one separate, unticked choice per optional purpose, required uses explained, the
choices recorded as `signup_form` events once the account exists; minors are not offered what
is not for them."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from consent import ledger
from consent.models import ConsentEvent, Method
from tests.factories import PurposeFactory

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    data = {
        "email": "new.person@example.org",
        "password1": "a-long-test-password-42",
        "password2": "a-long-test-password-42",
        "birth_date": "1991-05-17",
        "region": "FR",
    }
    data.update(overrides)
    return data


def minors_birth_date():
    today = timezone.localdate()
    return today.replace(year=today.year - 15, day=1).isoformat()


@pytest.fixture
def purposes():
    return (
        PurposeFactory(key="newsletter", name="Newsletter"),
        PurposeFactory(key="ads", name="Personalised ads", offered_to_minors=False),
    )


def sign_up_as_adult(client, **overrides):
    """Submit once (the page then shows the choices offered only to adults), then again with
    `overrides`, from the page that showed them."""
    first = client.post(reverse("account_signup"), signup_data())
    shown = re.search(r'name="adult_choices_shown" value="([^"]*)"', first.content.decode())
    data = signup_data(**overrides)
    if shown:
        data["adult_choices_shown"] = shown.group(1)
    return client.post(reverse("account_signup"), data)


def decisions():
    return sorted(
        (e.purpose.key, e.decision) for e in ConsentEvent.objects.filter(method=Method.SIGNUP_FORM)
    )


def test_each_optional_purpose_is_a_separate_unticked_box(client, purposes):
    # Once a date of birth shows an adult, the adult-only purpose is offered too.
    html = client.post(reverse("account_signup"), signup_data()).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="consent_[^"]+"[^>]*>', html)
    assert len(boxes) == 2
    assert not any("checked" in box for box in boxes)


def test_purposes_needed_for_the_service_are_explained_not_offered(client, purposes):
    PurposeFactory(
        key="account", name="Running your account", legal_basis="contract", is_optional=False
    )
    html = client.get(reverse("account_signup")).content.decode()
    assert "Running your account" in html
    assert 'name="consent_account"' not in html


def test_what_the_service_needs_is_a_summary_with_the_details_on_demand(client, purposes):
    needed = [
        PurposeFactory(key=key, name=name, legal_basis="contract", is_optional=False)
        for key, name in [("account", "Running your account"), ("security", "Keeping it secure")]
    ]
    html = client.get(reverse("account_signup")).content.decode()
    section = html[
        html.index('id="h-needed"') : html.index("</section>", html.index('id="h-needed"'))
    ]
    summary, details = section.split("<details>")
    assert "Without these 2 uses" in summary
    assert "running your account and keeping it secure" in summary
    # The long descriptions wait behind the summary.
    assert all(p.description not in summary and p.description in details for p in needed)


def test_ticked_choices_are_given_and_unticked_ones_refused_once_the_account_exists(
    client, purposes
):
    sign_up_as_adult(client, consent_newsletter="on")
    user = User.objects.get(email="new.person@example.org")
    assert decisions() == [("ads", "refused"), ("newsletter", "given")]
    assert ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk)).count() == 2


def test_signing_up_without_ticking_anything_allows_nothing(client, purposes):
    sign_up_as_adult(client)
    user = User.objects.get(email="new.person@example.org")
    states = ledger.state_for(ledger.user_subject_key(user.pk), purposes)
    assert [s.allowed for s in states] == [False, False]


def test_a_minor_who_ticked_a_purpose_not_for_minors_is_told_and_the_box_is_gone(client, purposes):
    response = client.post(
        reverse("account_signup"),
        signup_data(birth_date=minors_birth_date(), consent_ads="on"),
    )
    html = response.content.decode()
    assert "offered only to adults" in html
    assert 'name="consent_ads"' not in html
    assert not User.objects.exists()


def test_a_minor_signs_up_without_ever_being_offered_it(client, purposes):
    client.post(reverse("account_signup"), signup_data(birth_date=minors_birth_date()))
    assert User.objects.filter(email="new.person@example.org").exists()
    assert decisions() == [("newsletter", "refused")]


def test_an_address_already_registered_records_no_choice(client, purposes):
    sign_up_as_adult(client, consent_newsletter="on")
    first = ConsentEvent.objects.count()
    sign_up_as_adult(client, consent_newsletter="on")
    assert ConsentEvent.objects.count() == first


# --- The choices fetched again when the date of birth changes (htmx) --------------------------


def test_an_adult_date_of_birth_brings_the_adult_choices_before_submitting(client, purposes):
    response = client.post(
        reverse("signup_choices"),
        {"birth_date": "1990-01-01", "region": "DE", "consent_newsletter": "on"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="consent_ads"' in html
    assert 'name="adult_choices_shown" value="ads"' in html
    assert re.search(r'name="consent_newsletter"[^>]*checked', html)  # a tick survives
    assert not re.search(r'name="consent_ads"[^>]*checked', html)  # nothing pre-ticked


def test_a_minors_date_of_birth_brings_no_choice_their_guardian_makes_them(client, purposes):
    html = client.post(
        reverse("signup_choices"), {"birth_date": minors_birth_date(), "region": "DE"}
    ).content.decode()
    assert 'name="consent_' not in html
    assert "your parent or guardian makes the optional choices" in html


def test_with_the_adult_choices_shown_one_submission_creates_the_account(client, purposes):
    response = client.post(
        reverse("account_signup"), signup_data(adult_choices_shown="ads", consent_ads="on")
    )
    assert response.status_code == 302
    assert dict(decisions()) == {"newsletter": "refused", "ads": "given"}


def test_the_choices_are_never_fetched_with_the_date_of_birth_in_the_url(client, purposes):
    response = client.get(reverse("signup_choices"), {"birth_date": "1990-01-01", "region": "DE"})
    assert response.status_code == 405


# --- Without JavaScript: the first short step -----------------------------------------------


def test_the_first_page_asks_the_date_of_birth_and_region_before_any_password(client, purposes):
    html = client.get(reverse("account_signup")).content.decode()
    rest = html.index('id="signup-rest"')
    assert html.index('name="birth_date"') < rest and html.index('name="region"') < rest
    assert re.search(r'<fieldset id="signup-rest" data-signup-later disabled hidden>', html)
    assert html.index('name="password1"') > rest  # inside the disabled part: never sent
    assert 'name="signup_step" value="continue"' in html


def test_continue_shows_an_adult_their_choices_and_creates_nothing(client, purposes):
    response = client.post(
        reverse("account_signup"),
        {"signup_step": "continue", "birth_date": "1990-01-01", "region": "DE"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert not User.objects.exists()
    assert 'name="consent_ads"' in html and 'name="adult_choices_shown" value="ads"' in html
    assert 'value="1990-01-01"' in html and re.search(r'value="DE"\s+selected', html)
    assert "disabled hidden" not in html and 'name="signup_step"' not in html
    assert 'role="alert"' not in html


def test_after_continue_one_submission_creates_the_account_with_its_choices(client, purposes):
    client.post(
        reverse("account_signup"),
        {"signup_step": "continue", "birth_date": "1991-05-17", "region": "FR"},
    )
    response = client.post(
        reverse("account_signup"), signup_data(adult_choices_shown="ads", consent_ads="on")
    )
    assert response.status_code == 302
    assert User.objects.get().email == "new.person@example.org"
    assert dict(decisions()) == {"newsletter": "refused", "ads": "given"}


def test_continue_with_a_wrong_date_of_birth_says_so_and_stays_on_the_first_step(client, purposes):
    html = client.post(
        reverse("account_signup"),
        {"signup_step": "continue", "birth_date": "31/31/1990", "region": ""},
    ).content.decode()
    assert "Enter a valid date." in html
    assert "This field is required." in html
    assert "disabled hidden" in html  # still the first step
    assert not User.objects.exists()


def test_continue_keeps_where_the_person_was_going(client, purposes):
    html = client.post(
        reverse("account_signup") + "?next=/dashboard/consent/",
        {
            "signup_step": "continue",
            "birth_date": "1990-01-01",
            "region": "DE",
            "next": "/dashboard/consent/",
        },
    ).content.decode()
    assert 'name="next" value="/dashboard/consent/"' in html
