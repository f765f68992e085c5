"""The sign-up's choices in a real browser: they follow the date of birth as it is typed, a box
ticked while they are being fetched again keeps its tick, and without JavaScript a first short
step shows them before any password is typed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from accounts.models import User
from consent import ledger
from consent.models import ConsentEvent
from tests.e2e.helpers import field
from tests.factories import PurposeFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_tick_made_while_the_choices_are_fetched_again_is_kept(live_server, page: Page):
    PurposeFactory(key="newsletter", name="Newsletter")
    PurposeFactory(key="ads", name="Personalised ads", offered_to_minors=False)
    held: list[Route] = []
    page.route("**/accounts/signup/choices/**", lambda route: held.append(route))
    page.goto(live_server.url + "/accounts/signup/")
    expect(page.get_by_label("Personalised ads")).to_have_count(0)  # no age known yet

    page.get_by_label("Country / region").select_option(label="Germany")
    page.get_by_label("Date of birth").fill("1990-04-02")
    page.get_by_label("Newsletter").check()  # while the fetch is held back
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(20)
    for route in held:
        route.continue_()
    page.unroute("**/accounts/signup/choices/**")

    expect(page.get_by_label("Personalised ads")).to_be_visible()
    expect(page.get_by_label("Personalised ads")).not_to_be_checked()
    expect(page.get_by_label("Newsletter")).to_be_checked()


def test_without_javascript_an_adult_signs_up_typing_the_password_once(
    live_server, page_without_javascript: Page
):
    PurposeFactory(key="newsletter", name="Newsletter")
    PurposeFactory(key="ads", name="Personalised ads", offered_to_minors=False)
    page = page_without_javascript
    page.goto(live_server.url + "/accounts/signup/")
    expect(field(page, "Password")).to_be_hidden()  # first step: age only
    expect(page.get_by_role("button", name="Sign up")).to_be_hidden()

    page.get_by_label("Date of birth").fill("1990-04-02")
    page.get_by_label("Country / region").select_option(label="Germany")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_label("Personalised ads")).not_to_be_checked()
    expect(page.get_by_label("Date of birth")).to_have_value("1990-04-02")
    field(page, "E-mail").fill("no.script@example.org")
    field(page, "Password").fill("a-long-test-password-42")
    field(page, "Password (again)").fill("a-long-test-password-42")
    page.get_by_label("Personalised ads").check()
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    user = User.objects.get(email="no.script@example.org")
    events = ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk))
    assert sorted(events.values_list("purpose__key", "decision")) == [
        ("ads", "given"),
        ("newsletter", "refused"),
    ]
