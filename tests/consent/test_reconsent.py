"""Re-consent after a material policy change: page views wait for the user's new choices, which
are recorded as `reconsent_prompt` events, then the user goes on to the page they asked for."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from consent import ledger, services
from consent.models import ConsentEvent, Method
from tests.factories import PolicyVersionFactory, PurposeFactory

pytestmark = pytest.mark.django_db

PROMPT = "/dashboard/consent/reconsent/"


@pytest.fixture
def newsletter():
    return PurposeFactory(key="newsletter", name="Newsletter")


@pytest.fixture
def material(newsletter):
    """Version 1.0 since last month, then a material 2.0 in effect today."""
    PolicyVersionFactory(
        version="1.0", effective_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    return PolicyVersionFactory(version="2.0", is_material=True)


def test_a_page_view_goes_to_the_prompt_and_remembers_where_it_was_going(user_client, material):
    response = user_client.get("/dashboard/profile/?tab=1")
    assert response.status_code == 302
    assert response.url == f"{PROMPT}?next=%2Fdashboard%2Fprofile%2F%3Ftab%3D1"


def test_a_policy_change_that_is_not_material_asks_nothing(user_client, newsletter):
    PolicyVersionFactory(version="2.0", is_material=False)
    assert user_client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/",
        "/privacy/policy/",
        "/static/css/portal.css",
        PROMPT,
        "/accounts/logout/",
        "/dashboard/requests/new/",
    ],
)
def test_apis_policy_pages_files_requests_sign_out_and_the_prompt_are_never_redirected(
    user_client, material, path
):
    response = user_client.get(path)
    assert not (response.status_code == 302 and response.url.startswith(PROMPT))


def test_an_htmx_fragment_is_not_redirected(user_client, material):
    assert user_client.get("/dashboard/", headers={"HX-Request": "true"}).status_code == 200


def test_a_user_who_signed_up_under_the_new_version_is_not_asked_again(
    user, user_client, material, newsletter
):
    services.consent_choices_record(
        user=user, choices={newsletter: False}, method=Method.SIGNUP_FORM, actor=user
    )
    assert user_client.get("/dashboard/").status_code == 200


def test_a_user_with_nothing_to_choose_is_not_asked(user_client):
    PolicyVersionFactory(version="2.0", is_material=True)
    assert user_client.get("/dashboard/").status_code == 200


def test_the_prompt_links_to_what_changed(user_client, material):
    html = user_client.get(PROMPT).content.decode()
    assert 'href="/privacy/policy/diff/?from=1.0&amp;to=2.0"' in html
    assert 'href="/privacy/policy/2.0/"' in html
    assert material.summary_of_changes in html


def test_the_prompt_never_pre_ticks_a_choice_even_one_given_before(user, user_client, newsletter):
    PolicyVersionFactory(
        version="1.0", effective_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    services.consent_give(user=user, purpose=newsletter, method=Method.CONSENT_CENTER, actor=user)
    PolicyVersionFactory(version="2.0", is_material=True)
    html = user_client.get(PROMPT).content.decode()
    box = re.search(r'<input type="checkbox" name="consent_newsletter"[^>]*>', html).group(0)
    assert "checked" not in box
    assert "You allowed this before" in html


def test_submitting_records_reconsent_events_and_goes_on(user, user_client, material):
    ads = PurposeFactory(key="ads")
    response = user_client.post(PROMPT, {"consent_newsletter": "on", "next": "/dashboard/profile/"})
    assert response.url == "/dashboard/profile/"
    events = ConsentEvent.objects.filter(method=Method.RECONSENT_PROMPT, policy_version=material)
    assert sorted((e.purpose.key, e.decision) for e in events) == [
        ("ads", "refused"),
        ("newsletter", "given"),
    ]
    assert not ledger.is_allowed(ledger.user_subject_key(user.pk), ads).allowed


def test_after_submitting_pages_open_normally(user_client, material):
    user_client.post(PROMPT, {})
    assert user_client.get("/dashboard/").status_code == 200


def test_unticking_a_consent_given_before_withdraws_it(user, user_client, newsletter):
    PolicyVersionFactory(
        version="1.0", effective_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    services.consent_give(user=user, purpose=newsletter, method=Method.CONSENT_CENTER, actor=user)
    PolicyVersionFactory(version="2.0", is_material=True)
    user_client.post(PROMPT, {})
    assert ConsentEvent.objects.get(method=Method.RECONSENT_PROMPT).decision == "withdrawn"


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x"])
def test_a_next_leading_off_the_site_is_replaced_by_the_dashboard(user_client, material, target):
    response = user_client.post(PROMPT, {"next": target})
    assert response.url == reverse("dashboard:home")


# --- A material version followed by a minor one ---------------------------------------------------


@pytest.fixture
def signed_up_under_1_0(user, newsletter):
    """The user made their choices at sign-up under 1.0, in effect since last month."""
    PolicyVersionFactory(
        version="1.0", effective_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    services.consent_choices_record(
        user=user, choices={newsletter: True}, method=Method.SIGNUP_FORM, actor=user
    )


@pytest.fixture
def material_then_minor(signed_up_under_1_0):
    """A material 2.0 took effect last week, then a minor 2.1 today, before the user came back."""
    material = PolicyVersionFactory(
        version="2.0",
        is_material=True,
        summary_of_changes="We now share your data with partners.",
        effective_on=timezone.localdate() - datetime.timedelta(days=7),
    )
    minor = PolicyVersionFactory(version="2.1", summary_of_changes="Typos fixed.")
    return material, minor


def test_a_material_version_followed_by_a_minor_one_still_asks_for_new_choices(
    user_client, material_then_minor
):
    response = user_client.get("/dashboard/")
    assert response.status_code == 302
    assert response.url.startswith(PROMPT)


def test_choices_made_under_the_minor_version_after_the_material_one_are_enough(
    user, user_client, newsletter, material_then_minor
):
    services.consent_choices_record(
        user=user, choices={newsletter: False}, method=Method.RECONSENT_PROMPT, actor=user
    )
    assert user_client.get("/dashboard/").status_code == 200


def test_a_minor_version_after_choices_made_under_the_material_one_asks_nothing(
    user, user_client, newsletter, signed_up_under_1_0
):
    PolicyVersionFactory(
        version="2.0",
        is_material=True,
        effective_on=timezone.localdate() - datetime.timedelta(days=7),
    )
    services.consent_choices_record(
        user=user, choices={newsletter: True}, method=Method.RECONSENT_PROMPT, actor=user
    )
    PolicyVersionFactory(version="2.1")
    assert user_client.get("/dashboard/").status_code == 200


def test_the_prompt_shows_what_changed_since_the_version_the_user_last_chose_under(
    user_client, material_then_minor
):
    html = user_client.get(PROMPT).content.decode()
    assert 'href="/privacy/policy/diff/?from=1.0&amp;to=2.1"' in html
    assert "We now share your data with partners." in html
    assert "Typos fixed." in html


def test_a_cached_answer_does_not_outlive_the_version_it_was_given_under(
    user, user_client, signed_up_under_1_0
):
    # Answered (nothing due) while 1.0 is in force; then a material 2.0 comes into force.
    assert user_client.get("/dashboard/").status_code == 200
    PolicyVersionFactory(version="2.0", is_material=True)
    assert user_client.get("/dashboard/").status_code == 302


def test_choices_already_made_another_way_still_answer_the_prompt(
    user, user_client, material, newsletter
):
    # Under the new version the user already gave it through the API (not the prompt).
    services.consent_give(user=user, purpose=newsletter, method=Method.API, actor=user)

    response = user_client.post(f"{PROMPT}?next=/dashboard/", {"consent_newsletter": "on"})

    assert response.status_code == 302 and response.url == "/dashboard/"
    assert user_client.get("/dashboard/").status_code == 200
    latest = ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk)).last()
    assert (latest.method, latest.decision) == (Method.RECONSENT_PROMPT, "given")


def test_answering_the_prompt_twice_records_the_choice_once(
    user, user_client, material, newsletter
):
    services.consent_give(user=user, purpose=newsletter, method=Method.API, actor=user)
    for _ in range(2):
        services.consent_choices_record(
            user=user, choices={newsletter: True}, method=Method.RECONSENT_PROMPT, actor=user
        )
    prompted = ConsentEvent.objects.filter(method=Method.RECONSENT_PROMPT)
    assert prompted.count() == 1
