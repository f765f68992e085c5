"""The sign-up's choices in a real browser: they follow the date of birth as it is typed, and a
box ticked while they are being fetched again keeps its tick."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

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
