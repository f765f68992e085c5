"""The request form in a real browser: the data categories are the person's own, sorted by their
label, and the list is disabled while "Everything" is chosen."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from core.registry import STAFF_CATEGORIES, registry
from tests.factories import ProfileFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_category_list_follows_the_extent_chosen(
    live_server, page: Page, user, csp_violations: list[str]
) -> None:
    ProfileFactory(user=user)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(live_server.url + "/dashboard/requests/new/access/")

    boxes = page.locator("#id_categories input[type=checkbox]")
    labels = [label.strip() for label in page.locator("#id_categories label").all_inner_texts()]
    assert labels == [str(label) for _key, label in registry.requestable_categories()]
    assert labels == sorted(labels, key=str.casefold)
    staff_labels = {str(label) for key, label in registry.categories() if key in STAFF_CATEGORIES}
    assert not staff_labels & set(labels)

    # "Everything" is the default for a copy of one's data: the list does not apply.
    expect(page.get_by_label("Everything we hold about me")).to_be_checked()
    for index in range(boxes.count()):
        expect(boxes.nth(index)).to_be_disabled()
    page.get_by_label("Only the categories I choose below").check()
    for index in range(boxes.count()):
        expect(boxes.nth(index)).to_be_enabled()
    page.get_by_label("Everything we hold about me").check()
    expect(boxes.first).to_be_disabled()
    assert csp_violations == []  # the script is a file of ours, allowed by the CSP
