"""`manage.py seed_demo` prints the portal's own address (PORTAL_URL), the one links in e-mails
carry, so the demo's printed links and its e-mails agree whatever port `make run` serves on."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def seed(**options):
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_seed_demo_prints_links_to_the_portals_own_address(settings):
    settings.PORTAL_URL = "http://127.0.0.1:8123"
    out, _err = seed()
    assert "http://127.0.0.1:8123/dashboard/" in out
    assert ":8000" not in out


def test_seed_demo_warns_when_the_port_it_is_told_is_not_portal_urls(settings):
    settings.PORTAL_URL = "http://127.0.0.1:8000"
    out, err = seed(port="8123")
    assert "http://127.0.0.1:8000/dashboard/" in out
    assert "not on port 8123" in err
