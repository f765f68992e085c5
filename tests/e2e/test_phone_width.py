"""No page scrolls sideways on a small phone (360 px): wide tables scroll inside their own box
or collapse into cards, and nothing hidden for screen readers widens the page."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from consent import services as consent_services
from consent.models import Method
from notices.models import Category, EmailState, Message
from tests.factories import DataSubjectRequestFactory, ProfileFactory, PurposeFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def too_wide(page) -> int:  # type: ignore[no-untyped-def]
    """How many pixels the page is wider than the screen (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_no_page_a_person_reaches_scrolls_sideways_on_a_small_phone(live_server, browser):
    user = UserFactory()
    ProfileFactory(user=user)
    for key in ("newsletter", "analytics", "personalised-ads"):
        purpose = PurposeFactory(key=key)
        for _ in range(2):  # a history long enough to fill its table
            consent_services.consent_give(
                user=user, purpose=purpose, method=Method.CONSENT_CENTER, actor=user
            )
            consent_services.consent_withdraw(
                user=user, purpose=purpose, method=Method.CONSENT_CENTER, actor=user
            )
    request = DataSubjectRequestFactory(subject=user, type="copy")
    Message.objects.create(
        user=user,
        category=Category.REQUEST_UPDATES,
        title="Your copy is on its way",
        body="We are gathering your data.",
        email_state=EmailState.SENT,
    )
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    pages = [
        reverse("dashboard:home"),
        reverse("dashboard:profile"),
        reverse("dashboard:security"),
        reverse("dashboard:history"),
        reverse("consent:center"),
        reverse("dsar:list"),
        reverse("dsar:new"),
        reverse("dsar:detail", args=[request.public_id]),
        reverse("notices:inbox"),
        reverse("notices:preferences"),
        reverse("privacy:policy"),
        reverse("privacy:policy_versions"),
        reverse("privacy:third_parties"),
        reverse("privacy:purposes"),
        reverse("dsar_public:form"),
        reverse("landing"),
    ]
    wide = {}
    try:
        for path in pages:
            page.goto(live_server.url + path)
            if extra := too_wide(page):
                wide[path] = extra
    finally:
        context.close()
    assert wide == {}, f"pages wider than a {PHONE['width']} px screen, by px: {wide}"
