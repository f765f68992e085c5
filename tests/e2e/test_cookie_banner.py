"""The cookie banner in a real browser: Reject all leaves no analytics cookie or script, choices
survive a reload, the settings dialog is keyboard-friendly (and the page works without
JavaScript), the Global Privacy Control signal shows as in force, and a decision in the consent
center shows in its history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from playwright.sync_api import Browser, BrowserContext, Page, expect

from config.urls import urlpatterns as portal_urlpatterns
from consent import cookies, ledger
from consent.models import ConsentEvent, Decision, Method
from tests.e2e.helpers import field
from tests.factories import PurposeFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANALYTICS_COOKIE = "pp_e2e_analytics"
ANALYTICS_SCRIPT = "script[data-consent-category='analytics']"


def analytics_js(request: HttpRequest) -> HttpResponse:
    """Stands for an operator's analytics script: it sets a cookie of its own when it runs."""
    body = f'document.cookie = "{ANALYTICS_COOKIE}=1; path=/; SameSite=Lax";\n'
    return HttpResponse(body, content_type="text/javascript")


# The portal's URLs plus the stand-in script (ROOT_URLCONF points here during these tests).
urlpatterns = [path("e2e-analytics.js", analytics_js), *portal_urlpatterns]


@pytest.fixture(autouse=True)
def _analytics_wired(settings, tmp_path: Path) -> None:
    """An operator's analytics: its script tag in consent/cookie_scripts/analytics.html."""
    folder = tmp_path / "consent" / "cookie_scripts"
    folder.mkdir(parents=True)
    (folder / "analytics.html").write_text(
        '<script src="/e2e-analytics.js" data-consent-category="analytics" defer></script>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def purposes(db):  # type: ignore[no-untyped-def]
    return [
        PurposeFactory(
            key="analytics",
            name="Usage analytics",
            description="Counting visits to improve the site.",
            cookie_category="analytics",
        ),
        PurposeFactory(
            key="advertising",
            name="Personalised advertising",
            description="Advertisements chosen from your activity.",
            cookie_category="advertising",
            refused_by_gpc=True,
        ),
    ]


def cookie_names(page: Page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def banner(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name="Cookies on this site")


def visitor_events(page: Page):  # type: ignore[no-untyped-def]
    [value] = [c["value"] for c in page.context.cookies() if c["name"] == "pp_visitor"]
    visitor_id = cookies.visitor_id_from_cookie(value)
    assert visitor_id is not None, "the visitor cookie is not one the portal signed"
    return ConsentEvent.objects.filter(subject_key=ledger.visitor_subject_key(visitor_id))


def test_reject_all_leaves_no_analytics_cookie_and_no_analytics_script(
    live_server, page: Page, purposes, csp_violations: list[str]
) -> None:
    page.goto(live_server.url + "/")
    expect(banner(page)).to_be_visible()
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(0)  # nothing before a choice

    # Reject all is exactly as prominent as Accept all: same element, same computed style.
    accept = banner(page).get_by_role("button", name="Accept all")
    reject = banner(page).get_by_role("button", name="Reject all")
    style = "e => { const s = getComputedStyle(e); return [e.tagName, e.className, s.fontSize, s.fontWeight, s.color, s.backgroundColor, s.padding, s.borderWidth, e.offsetWidth, e.offsetHeight]; }"  # noqa: E501
    assert accept.evaluate(style) == reject.evaluate(style)

    reject.click()
    expect(page.get_by_role("status")).to_contain_text("Your cookie choices are saved.")
    expect(banner(page)).to_have_count(0)
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(0)
    assert cookie_names(page) <= cookies.essential_cookie_names()

    # The choice survives a reload: the banner stays hidden, nothing is loaded.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(banner(page)).to_have_count(0)
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(0)
    assert ANALYTICS_COOKIE not in cookie_names(page)
    assert set(visitor_events(page).values_list("decision", "method")) == {
        (Decision.REFUSED, Method.COOKIE_BANNER)
    }
    assert csp_violations == []


def test_accept_all_loads_the_analytics_script(
    live_server, page: Page, purposes, csp_violations: list[str]
) -> None:
    # The other side of the previous test: the mechanism does include scripts once allowed.
    page.goto(live_server.url + "/")
    banner(page).get_by_role("button", name="Accept all").click()
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(1)
    # Polled from here, not with wait_for_function: its in-page polling evaluates a string,
    # which our CSP (rightly) refuses once the first check finds nothing yet.
    for _ in range(200):
        if page.evaluate("document.cookie").find(f"{ANALYTICS_COOKIE}=1") >= 0:
            break
        page.wait_for_timeout(50)
    assert f"{ANALYTICS_COOKIE}=1" in page.evaluate("document.cookie")
    assert csp_violations == []


def test_choices_in_the_settings_dialog_survive_a_reload(
    live_server, page: Page, purposes, csp_violations: list[str]
) -> None:
    page.goto(live_server.url + "/")
    opener = banner(page).get_by_role("link", name="Choose by category")
    dialog = page.get_by_role("dialog", name="Cookie settings")

    # The dialog takes the focus, and Escape gives it back to what opened it.
    opener.click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Cookie settings")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    # By keyboard: open, tick Analytics, save.
    opener.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    essential = dialog.get_by_role("checkbox", name="Essential (always on)")
    expect(essential).to_be_checked()
    expect(essential).to_be_disabled()
    dialog.get_by_role("checkbox", name="Analytics").check()
    expect(dialog.get_by_role("checkbox", name="Advertising")).not_to_be_checked()
    dialog.get_by_role("button", name="Save my choices").press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Your cookie choices are saved.")
    expect(banner(page)).to_have_count(0)
    page.reload()
    expect(banner(page)).to_have_count(0)
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(1)

    # Reopened from the footer: the settings show the choice kept.
    page.get_by_role("contentinfo").get_by_role("link", name="Cookie settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cookie settings")
    expect(page.get_by_role("checkbox", name="Analytics")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Advertising")).not_to_be_checked()
    assert dict(visitor_events(page).values_list("purpose__key", "decision")) == {
        "analytics": Decision.GIVEN,
        "advertising": Decision.REFUSED,
    }
    assert csp_violations == []


def test_the_settings_work_without_javascript(
    live_server, page_without_javascript: Page, purposes
) -> None:
    page = page_without_javascript
    page.goto(live_server.url + "/")
    banner(page).get_by_role("link", name="Choose by category").click()  # a plain link

    expect(page.get_by_role("heading", level=1)).to_have_text("Cookie settings")
    page.get_by_role("checkbox", name="Advertising").check()
    page.get_by_role("button", name="Save my choices").click()

    expect(page.get_by_role("status")).to_contain_text("Your cookie choices are saved.")
    expect(page.get_by_role("checkbox", name="Advertising")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Analytics")).not_to_be_checked()


def signed_in_context(browser: Browser, live_server, user, **options) -> BrowserContext:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="en-GB", **options)
    context.set_default_timeout(10_000)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    return context


def open_consent_center(page: Page, url: str) -> None:
    """Open the consent center; any answer but the page itself fails the test."""
    response = page.goto(url)
    assert response is not None, "the consent center gave no response"
    assert response.status == 200, f"the consent center answered {response.status}"
    assert page.url == url, f"the consent center redirected to {page.url}"


def test_the_gpc_signal_shows_as_in_force(live_server, browser: Browser, purposes, user) -> None:
    signal = re.compile("Global Privacy Control")

    # Anonymous, on the cookie settings page.
    context = browser.new_context(locale="en-GB", extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    page.goto(live_server.url + "/privacy/cookies/")
    expect(page.get_by_role("heading", name=signal)).to_contain_text("is in force")
    context.close()

    # Signed in: the refusal is recorded for the user, and the consent center says so.
    context = signed_in_context(browser, live_server, user, extra_http_headers={"Sec-GPC": "1"})
    page = context.new_page()
    page.goto(live_server.url + "/privacy/cookies/")
    expect(page.get_by_role("heading", name=signal)).to_be_visible()
    refusals = ConsentEvent.objects.filter(
        subject_key=ledger.user_subject_key(user.pk), method=Method.GPC_SIGNAL
    )
    assert list(refusals.values_list("purpose__key", "decision")) == [
        ("advertising", Decision.REFUSED)
    ]
    try:
        open_consent_center(page, live_server.url + "/dashboard/consent/")
        expect(page.get_by_role("heading", name=signal)).to_be_visible()
        history = page.get_by_role("region", name="Your history")
        expect(history).to_contain_text("Global Privacy Control signal")
    finally:
        context.close()


def test_a_decision_in_the_consent_center_shows_in_its_history(
    live_server, browser: Browser, purposes, user
) -> None:
    context = signed_in_context(browser, live_server, user)
    page = context.new_page()
    try:
        open_consent_center(page, live_server.url + "/dashboard/consent/")
        page.get_by_role("button", name="Give consent to Usage analytics").click()
        history = page.get_by_role("region", name="Your history")
        row = history.get_by_role("row").filter(has_text="Usage analytics")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Given")
        expect(row).to_contain_text("Consent center")

        page.get_by_role("button", name="Withdraw consent to Usage analytics").click()
        expect(history.get_by_role("row").filter(has_text="Usage analytics")).to_have_count(2)
        # The cookie settings follow at once: the ledger is the one truth.
        page.goto(live_server.url + "/privacy/cookies/")
        expect(page.get_by_role("checkbox", name="Analytics")).not_to_be_checked()
    finally:
        context.close()


# --- A choice made signed out, then the account's: which one applies after signing in ---------

EMAIL = "new.person@example.org"
PASSWORD = "correct-horse-battery-42"


def sign_up_with_analytics_ticked(page: Page, base: str) -> None:
    """Sign up ticking analytics: the page then asks to check the e-mail."""
    page.goto(base + "/accounts/signup/")
    field(page, "E-mail").fill(EMAIL)
    field(page, "Password").fill(PASSWORD)
    field(page, "Password (again)").fill(PASSWORD)
    field(page, "Date of birth").fill("1991-06-15")
    field(page, "Country / region").select_option(label="Netherlands")
    page.get_by_label("Usage analytics").check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")


def confirm_address(page: Page, base: str) -> None:
    """Follow the e-mailed link in the browser that signed up: confirming signs the person in."""
    from django.core import mail

    [link] = [
        url
        for message in mail.outbox
        for url in re.findall(r"https?://\S+", str(message.body))
        if "/confirm-email/" in url
    ]
    page.goto(base + "/accounts/confirm-email/" + link.rsplit("/confirm-email/", 1)[1])
    page.get_by_role("button", name="Confirm").click()


def account_decisions() -> list[tuple[str, str]]:
    from accounts.models import User

    user = User.objects.get(email=EMAIL)
    return list(
        ConsentEvent.objects.filter(
            subject_key=ledger.user_subject_key(user.pk), purpose__key="analytics"
        ).values_list("decision", "method")
    )


def test_rejecting_before_sign_up_then_ticking_at_sign_up_keeps_analytics_on(
    live_server, page: Page, purposes, csp_violations: list[str]
) -> None:
    page.goto(live_server.url + "/")
    banner(page).get_by_role("button", name="Reject all").click()
    sign_up_with_analytics_ticked(page, live_server.url)

    confirm_address(page, live_server.url)

    # The sign-up's tick is the later decision: it stands, and nobody is asked anything.
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello")
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(1)
    assert account_decisions() == [(Decision.GIVEN, Method.SIGNUP_FORM)]
    assert csp_violations == []


@pytest.mark.parametrize("answer", ["account", "device"])
def test_rejecting_after_sign_up_asks_at_sign_in_which_choice_applies(
    live_server, page: Page, purposes, answer: str, csp_violations: list[str]
) -> None:
    sign_up_with_analytics_ticked(page, live_server.url)
    # Signed out, between sign-up and the confirmation that signs in (someone else may share
    # this device).
    page.goto(live_server.url + "/")
    banner(page).get_by_role("button", name="Reject all").click()

    confirm_address(page, live_server.url)

    # Nothing was overwritten: the person is asked, and analytics stays off meanwhile.
    expect(page.get_by_role("heading", level=1)).to_have_text("Which cookie choice should apply?")
    expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(0)
    assert account_decisions() == [(Decision.GIVEN, Method.SIGNUP_FORM)]
    question = page.get_by_role("group", name="Usage analytics")
    keep = question.get_by_label(re.compile("^Keep your account's choice: allowed"))
    use = question.get_by_label(re.compile("^Use the choice made on this device: not allowed"))
    (keep if answer == "account" else use).check()
    page.get_by_role("button", name="Save and continue").click()

    # The device follows the answer at once.
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello")
    if answer == "account":
        expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(1)
        assert account_decisions() == [(Decision.GIVEN, Method.SIGNUP_FORM)]
    else:
        expect(page.locator(ANALYTICS_SCRIPT)).to_have_count(0)
        assert account_decisions() == [
            (Decision.GIVEN, Method.SIGNUP_FORM),
            (Decision.WITHDRAWN, Method.COOKIE_BANNER),
        ]
    page.reload()  # asked once: not again
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello")
    assert csp_violations == []
