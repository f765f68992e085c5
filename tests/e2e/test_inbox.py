"""The security-incident banner in a real browser: shown on every page while the notice is
unread, it leads to the notice, and once that is read it is gone on the next page and after a
reload. The header's inbox link says how many messages are unread."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Browser, expect

from accounts.models import User
from notices.models import Category, EmailState, Message

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "Unauthorised access to a support tool"


def test_the_incident_banner_disappears_once_the_notice_is_read(
    live_server, browser: Browser, csp_violations: list[str], user: User
) -> None:
    notice = Message.objects.create(
        user=user,
        category=Category.SECURITY_INCIDENTS,
        title=TITLE,
        body="What happened, what we did, and what you can do.",
        email_state=EmailState.SENT,
    )
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
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
    page.on(
        "console", lambda m: csp_violations.append(m.text) if "Content Security" in m.text else None
    )
    banner = page.get_by_role("complementary", name="Security notice")
    inbox_link = page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("^Inbox")
    )
    try:
        # 1. Any page shows the banner, and the header counts the unread notice.
        page.goto(live_server.url + "/dashboard/")
        expect(banner).to_be_visible()
        expect(inbox_link).to_have_accessible_name("Inbox (1 unread)")

        # 2. The banner leads to the notice; reading it is what makes the banner go.
        banner.get_by_role("link", name="Read the security notice").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(banner).to_have_count(0)

        # 3. Gone on the next page, and after a reload.
        page.get_by_role("link", name="Dashboard").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        expect(banner).to_have_count(0)
        page.reload()
        expect(banner).to_have_count(0)
        expect(inbox_link).to_have_accessible_name("Inbox")
        notice.refresh_from_db()
        assert notice.read_at is not None
        assert csp_violations == []
    finally:
        context.close()
