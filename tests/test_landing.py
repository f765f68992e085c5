"""The landing page: what a visitor is told the portal does."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_landing_page_promises_what_the_portal_does_and_nothing_it_does_not(client, settings):
    page = client.get("/").content.decode()
    for offer in ("Exercise your rights", "Decide what we may do", "Know what we promise"):
        assert offer in page
    assert f"within {settings.DSAR_RESPONSE_DAYS} days" in page
    # No page shows a sign-in's place: the landing page does not promise one.
    assert "place" not in page.lower()
    for link in ("/privacy/policy/", "/privacy/request/", "/privacy/request/deceased/"):
        assert f'href="{link}"' in page
