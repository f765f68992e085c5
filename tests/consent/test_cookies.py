"""The cookie banner: the visitor id, choices in the ledger, essential cookies only by default,
the settings page without JavaScript, `consent_allows`, and the merge of choices at login."""

from __future__ import annotations

import datetime
import html
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent import cookies, ledger
from consent.models import ConsentEvent, ConsentEventContext, Decision, Method
from consent.services import consent_give, consent_withdraw
from tests.factories import DEFAULT_PASSWORD, ProfileFactory, PurposeFactory

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/privacy/cookies/"


@pytest.fixture
def analytics():
    return PurposeFactory(key="analytics", name="Usage analytics", cookie_category="analytics")


@pytest.fixture
def advertising():
    return PurposeFactory(
        key="advertising",
        name="Personalised advertising",
        cookie_category="advertising",
        refused_by_gpc=True,
    )


@pytest.fixture
def purposes(analytics, advertising):
    return [analytics, advertising]


def choose(client: Client, choice: str, categories: tuple[str, ...] = (), **extra):
    return client.post(SETTINGS_URL, {"choice": choice, "categories": list(categories), **extra})


def visitor_events(client: Client):
    visitor_id = cookies.visitor_id_from_cookie(client.cookies[cookies.VISITOR_COOKIE].value)
    assert visitor_id is not None
    return ConsentEvent.objects.filter(subject_key=ledger.visitor_subject_key(visitor_id))


def user_events(user):
    return ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk))


# --- The visitor id cookie ---------------------------------------------------------------------


def test_visitor_cookie_is_first_party_httponly_and_samesite_lax(client, purposes):
    response = choose(client, "reject_all")

    morsel = response.cookies[cookies.VISITOR_COOKIE]
    assert (morsel["httponly"], morsel["samesite"], morsel["path"]) == (True, "Lax", "/")
    assert not morsel["domain"] and not morsel["secure"]  # this host only; HTTP in development
    assert len(cookies.visitor_id_from_cookie(morsel.value)) == 32
    assert int(morsel["max-age"]) == cookies.VISITOR_COOKIE_MAX_AGE


def test_visitor_cookie_is_secure_in_production(client, purposes, settings):
    settings.SESSION_COOKIE_SECURE = True  # as DJANGO_ENV=production sets it

    response = choose(client, "reject_all")

    assert response.cookies[cookies.VISITOR_COOKIE]["secure"] is True


def test_visitor_ids_are_random(purposes):
    first, second = Client(), Client()
    choose(first, "reject_all")
    choose(second, "reject_all")

    assert (
        first.cookies[cookies.VISITOR_COOKIE].value != second.cookies[cookies.VISITOR_COOKIE].value
    )


def test_a_malformed_visitor_cookie_is_ignored_and_replaced(client, purposes):
    client.cookies[cookies.VISITOR_COOKIE] = "not-a-visitor-id"

    response = choose(client, "accept_all")

    assert response.cookies[cookies.VISITOR_COOKIE].value != "not-a-visitor-id"
    assert not ConsentEvent.objects.filter(
        subject_key=ledger.visitor_subject_key("not-a-visitor-id")
    ).exists()


# --- Nothing but essential cookies before (and after refusing) --------------------------------


def test_the_default_page_sets_essential_cookies_only_and_shows_the_banner(client, purposes):
    response = client.get("/")

    assert set(response.cookies) <= cookies.essential_cookie_names()
    assert cookies.VISITOR_COOKIE not in response.cookies  # nothing recorded, no id needed
    assert b'id="cookie-banner"' in response.content


def test_reject_all_leaves_only_essential_cookies(client, purposes):
    choose(client, "reject_all", next="/")
    response = client.get("/")

    assert set(client.cookies) <= cookies.essential_cookie_names()
    assert b'id="cookie-banner"' not in response.content


def test_no_banner_when_no_purpose_uses_cookies(client):
    response = client.get("/")

    assert b'id="cookie-banner"' not in response.content
    assert set(response.cookies) <= cookies.essential_cookie_names()


# --- Choices in the ledger ---------------------------------------------------------------------


def test_accept_all_records_consent_to_every_cookie_purpose_for_the_visitor(client, purposes):
    choose(client, "accept_all")

    events = visitor_events(client)
    assert sorted(events.values_list("purpose__key", "decision")) == [
        ("advertising", Decision.GIVEN),
        ("analytics", Decision.GIVEN),
    ]
    assert set(events.values_list("method", "actor")) == {(Method.COOKIE_BANNER, "self")}


def test_reject_all_records_refusals(client, purposes):
    choose(client, "reject_all")

    assert set(visitor_events(client).values_list("decision", flat=True)) == {Decision.REFUSED}


def test_save_records_each_category_as_ticked(client, purposes):
    choose(client, "save", categories=("analytics",))

    assert dict(visitor_events(client).values_list("purpose__key", "decision")) == {
        "analytics": Decision.GIVEN,
        "advertising": Decision.REFUSED,
    }


def test_turning_a_category_off_later_is_recorded_as_a_withdrawal(client, purposes):
    choose(client, "accept_all")
    choose(client, "save", categories=("advertising",))

    latest = visitor_events(client).filter(purpose__key="analytics").last()
    assert latest.decision == Decision.WITHDRAWN
    assert visitor_events(client).count() == 3


def test_the_same_choice_again_records_nothing(client, purposes):
    choose(client, "reject_all")
    choose(client, "reject_all")

    assert visitor_events(client).count() == 2


def test_visitor_choices_keep_no_ip_address_or_user_agent(client, purposes):
    choose(client, "accept_all", HTTP_USER_AGENT="Mozilla/5.0 Test")

    assert not ConsentEventContext.objects.exists()


def test_a_signed_in_users_choice_goes_to_their_own_ledger(user_client, user, purposes):
    response = choose(user_client, "save", categories=("analytics",))

    assert cookies.VISITOR_COOKIE not in response.cookies
    assert dict(user_events(user).values_list("purpose__key", "decision")) == {
        "analytics": Decision.GIVEN,
        "advertising": Decision.REFUSED,
    }
    assert ConsentEventContext.objects.filter(user=user).count() == 2


def test_a_choice_is_audited_with_ids_only(client, purposes):
    from core.models import AuditLogEntry

    choose(client, "accept_all")

    entry = AuditLogEntry.objects.filter(action="consent.given").first()
    assert entry.target_type == "consent.visitor"
    assert set(entry.data) == {"event", "purpose", "method"}


# --- The banner, the settings page, the redirect -----------------------------------------------


def test_the_banner_disappears_once_a_choice_is_recorded_and_the_footer_reopens_it(
    client, purposes
):
    choose(client, "accept_all")
    page = client.get("/").content.decode()

    assert 'id="cookie-banner"' not in page
    assert 'id="cookie-settings-dialog"' not in page
    assert f'href="{SETTINGS_URL}" data-cookie-settings-open>Cookie settings</a>' in page


def test_accept_and_reject_are_the_same_element_with_the_same_styling(client, purposes):
    page = client.get("/").content.decode()

    accept = '<button type="submit" name="choice" value="accept_all" class="button cookie-choice">'
    reject = '<button type="submit" name="choice" value="reject_all" class="button cookie-choice">'
    assert page.count(accept) == page.count(reject) == 2  # the banner and its dialog


def test_the_banner_comes_back_when_a_new_cookie_purpose_appears(client, analytics):
    choose(client, "reject_all")
    PurposeFactory(key="ads", cookie_category="advertising")

    assert b'id="cookie-banner"' in client.get("/").content


def test_the_settings_page_works_without_javascript(client, purposes):
    choose(client, "save", categories=("advertising",))
    page = client.get(SETTINGS_URL).content.decode()

    assert '<form method="post" action="/privacy/cookies/">' in page
    assert (
        '<input type="checkbox" name="categories" value="advertising" id="page-advertising" checked'
        in page
    )
    assert 'value="analytics" id="page-analytics" aria-describedby' in page  # not checked
    assert '<label for="page-analytics">Analytics</label>' in page
    assert 'id="cookie-banner"' not in page


def test_the_settings_page_lists_the_essential_cookies(client, purposes):
    page = client.get(SETTINGS_URL).content.decode()

    for name in ("sessionid", "csrftoken", cookies.VISITOR_COOKIE):
        assert f"<code>{name}</code>" in page


def test_after_a_choice_the_visitor_goes_back_to_the_page_they_were_on(client, purposes):
    response = choose(client, "reject_all", next="/privacy/request/?from=banner")

    assert response.status_code == 302 and response.url == "/privacy/request/?from=banner"


def test_a_choice_never_redirects_to_another_site(client, purposes):
    response = choose(client, "reject_all", next="https://evil.example/")

    assert response.url == SETTINGS_URL


def test_new_visitor_records_are_rate_limited_per_address(purposes, monkeypatch):
    from consent import cookie_views

    monkeypatch.setattr(cookie_views, "NEW_VISITORS_PER_HOUR", 1)
    assert choose(Client(), "accept_all").status_code == 302
    response = choose(Client(), "accept_all")

    assert response.status_code == 429
    assert cookies.VISITOR_COOKIE not in response.cookies
    assert ConsentEvent.objects.count() == 2  # the first visitor's only


def test_an_unknown_choice_is_refused_and_records_nothing(client, purposes):
    response = choose(client, "accept_everything_forever")

    assert response.status_code == 400
    assert not ConsentEvent.objects.exists()


# --- consent_allows: scripts of a category only when allowed -----------------------------------


@pytest.fixture
def analytics_script(settings, tmp_path: Path):
    """An operator's analytics script, in a template directory placed before the portal's."""
    folder = tmp_path / "consent" / "cookie_scripts"
    folder.mkdir(parents=True)
    (folder / "analytics.html").write_text(
        '<script src="/static/js/analytics.js" data-consent-category="analytics"></script>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    return b'data-consent-category="analytics"'


def test_analytics_scripts_are_left_out_before_a_choice(client, purposes, analytics_script):
    assert analytics_script not in client.get("/").content


def test_analytics_scripts_are_left_out_after_reject_all(client, purposes, analytics_script):
    choose(client, "reject_all")

    assert analytics_script not in client.get("/").content


def test_analytics_scripts_are_included_once_allowed(client, purposes, analytics_script):
    choose(client, "save", categories=("analytics",))

    assert analytics_script in client.get("/").content
    assert analytics_script in client.get(SETTINGS_URL).content


def test_consent_allows_is_false_while_the_user_restricts_processing(user, purposes):
    ProfileFactory(user=user, optional_processing_stopped_at=timezone.now())
    client = Client()
    client.force_login(user)
    choose(client, "accept_all")

    request = client.get("/dashboard/").wsgi_request
    assert cookies.consent_allows(request, "analytics") is False


def test_a_withdrawal_elsewhere_shows_on_the_next_page(user_client, user, analytics):
    consent_give(user=user, purpose=analytics, method=Method.CONSENT_CENTER, actor=user)
    assert cookies.consent_allows(user_client.get("/dashboard/").wsgi_request, "analytics")

    consent_withdraw(user=user, purpose=analytics, method=Method.CONSENT_CENTER, actor=user)

    assert not cookies.consent_allows(user_client.get("/dashboard/").wsgi_request, "analytics")


def test_a_minor_is_not_offered_a_purpose_not_for_minors(user, analytics):
    PurposeFactory(key="ads", cookie_category="advertising", offered_to_minors=False)
    ProfileFactory(user=user, birth_date=timezone.localdate() - datetime.timedelta(days=365 * 15))
    client = Client()
    client.force_login(user)

    choose(client, "accept_all")

    assert list(user_events(user).values_list("purpose__key", flat=True)) == ["analytics"]
    assert b'id="cookie-banner"' not in client.get("/dashboard/").content


def test_pages_read_the_choice_from_the_cache_not_the_database(
    client, purposes, django_assert_num_queries
):
    choose(client, "accept_all")
    client.get("/")  # fills the caches
    request = client.get("/").wsgi_request
    request.__dict__.pop("_cookie_consent", None)

    with django_assert_num_queries(0):
        assert cookies.consent_allows(request, "analytics")


# --- Choices made before signing in ------------------------------------------------------------


def sign_in(client: Client, user) -> None:
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302, response.content


def test_choices_made_before_signing_in_are_merged_into_the_users_ledger(client, user, purposes):
    choose(client, "save", categories=("analytics",))

    sign_in(client, user)

    events = user_events(user)
    assert dict(events.values_list("purpose__key", "decision")) == {
        "analytics": Decision.GIVEN,
        "advertising": Decision.REFUSED,
    }
    assert set(events.values_list("method", "actor", "actor_user_id")) == {
        (Method.COOKIE_BANNER, "self", user.pk)
    }


def test_a_later_decision_of_the_user_is_not_overridden_by_the_merge(client, user, analytics):
    choose(client, "accept_all")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        consent_give(user=user, purpose=analytics, method=Method.CONSENT_CENTER, actor=user)
        consent_withdraw(user=user, purpose=analytics, method=Method.CONSENT_CENTER, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        sign_in(client, user)

    assert list(user_events(user).values_list("decision", "method")) == [
        (Decision.GIVEN, Method.CONSENT_CENTER),
        (Decision.WITHDRAWN, Method.CONSENT_CENTER),
    ]


def test_a_merged_choice_carries_the_time_it_was_made_on_the_device(client, user, analytics):
    chosen_at = timezone.now()
    choose(client, "accept_all")
    with time_machine.travel(chosen_at + datetime.timedelta(minutes=30)):
        sign_in(client, user)

    [event] = user_events(user)
    assert event.decision == Decision.GIVEN
    assert abs(event.decided_at - chosen_at) < datetime.timedelta(seconds=5)
    assert event.created_at - event.decided_at >= datetime.timedelta(minutes=29)
    assert ledger.verify_ledger().ok  # the time is part of the hashed proof


def test_a_device_choice_that_disagrees_with_the_accounts_earlier_one_changes_nothing_silently(
    client, user, analytics
):
    consent_give(user=user, purpose=analytics, method=Method.SIGNUP_FORM, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        choose(client, "reject_all")
        sign_in(client, user)

        assert list(user_events(user).values_list("decision", "method")) == [
            (Decision.GIVEN, Method.SIGNUP_FORM)
        ]
        # Asked on the next page; analytics is off until the person answers.
        page = client.get("/dashboard/")
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("cookies:conflicts"))
        request = page.wsgi_request
        assert cookies.consent_allows(request, "analytics") is False


def test_answering_keep_my_accounts_choice_records_nothing_and_asks_no_more(
    client, user, analytics
):
    consent_give(user=user, purpose=analytics, method=Method.SIGNUP_FORM, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        choose(client, "reject_all")
        sign_in(client, user)
        question = client.get(reverse("cookies:conflicts"))
        assert "Usage analytics" in question.content.decode()

        answer = client.post(reverse("cookies:conflicts"), {"analytics": "account"})

        assert answer.status_code == 302
        assert user_events(user).count() == 1
        assert client.get("/dashboard/").status_code == 200  # not asked again
        assert cookies.consent_allows(client.get("/dashboard/").wsgi_request, "analytics")


def test_answering_use_this_devices_choice_records_it_as_the_persons_decision_now(
    client, user, analytics
):
    consent_give(user=user, purpose=analytics, method=Method.SIGNUP_FORM, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        choose(client, "reject_all")
        sign_in(client, user)
        client.post(reverse("cookies:conflicts"), {"analytics": "device", "next": "/dashboard/"})

    latest = user_events(user).last()
    assert (latest.decision, latest.method, latest.decided_at) == (
        Decision.WITHDRAWN,
        Method.COOKIE_BANNER,
        None,
    )


def test_the_question_needs_an_answer_for_each_purpose(client, user, analytics):
    consent_give(user=user, purpose=analytics, method=Method.SIGNUP_FORM, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        choose(client, "reject_all")
        sign_in(client, user)
        unanswered = client.post(reverse("cookies:conflicts"), {})
        made_up = client.post(reverse("cookies:conflicts"), {"analytics": "both"})

    for response in (unanswered, made_up):
        assert response.status_code == 400
        assert "Choose which of the two to keep" in response.content.decode()
    assert user_events(user).count() == 1


def test_an_older_device_choice_gives_way_to_the_accounts_and_says_so(client, user, analytics):
    choose(client, "reject_all")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        consent_give(user=user, purpose=analytics, method=Method.SIGNUP_FORM, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        sign_in(client, user)
        page = client.get("/dashboard/", follow=True)

    assert list(user_events(user).values_list("decision", flat=True)) == [Decision.GIVEN]
    assert "account's cookie choices now apply on this device" in html.unescape(
        page.content.decode()
    )


def test_a_device_choice_that_agrees_is_not_asked_about(client, user, analytics):
    consent_give(user=user, purpose=analytics, method=Method.SIGNUP_FORM, actor=user)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=5)):
        choose(client, "accept_all")
        sign_in(client, user)
        assert client.get("/dashboard/").status_code == 200

    assert user_events(user).count() == 1


def test_a_forged_question_in_the_session_asks_nothing(client, user, analytics):
    sign_in(client, user)
    session = client.session
    session[cookies.CONFLICTS_SESSION_KEY] = [{"purpose": "analytics", "device": ["x"]}]
    session.save()

    response = client.get(reverse("cookies:conflicts"))

    assert response.status_code == 302
    assert not user_events(user).exists()


def test_the_merge_is_not_repeated_at_the_next_sign_in(client, user, purposes):
    choose(client, "accept_all")
    sign_in(client, user)
    client.post(reverse("account_logout"))

    sign_in(client, user)

    assert user_events(user).count() == 2


def test_signing_in_without_a_visitor_id_merges_nothing(client, user, purposes):
    sign_in(client, user)

    assert not user_events(user).exists()


def test_a_visitor_id_the_client_made_up_is_ignored(client, purposes):
    forged = "A" * 32
    client.cookies[cookies.VISITOR_COOKIE] = forged
    choose(client, "accept_all")
    assert not ConsentEvent.objects.filter(subject_key=ledger.visitor_subject_key(forged)).exists()


def test_the_visitor_cookie_is_dropped_once_a_user_is_signed_in(client, purposes):
    from tests.factories import UserFactory

    choose(client, "accept_all")
    client.force_login(UserFactory())
    response = client.get("/dashboard/")
    assert response.cookies[cookies.VISITOR_COOKIE].value == ""
