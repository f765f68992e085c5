"""`manage.py seed_demo` prints the portal's own address (PORTAL_URL), the one links in e-mails
carry, so the demo's printed links and its e-mails agree whatever port `make run` serves on; and
it never plants its published superuser in a real deployment."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.management.commands.seed_demo import STAFF_EMAIL
from accounts.models import User
from tests.factories import UserFactory

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


def test_seed_demo_refuses_a_production_deployment_with_a_clear_error(settings):
    # It creates a superuser whose password and TOTP secret are printed in the README.
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="DJANGO_ENV=production"):
        seed(force=True)
    assert not User.objects.filter(email=STAFF_EMAIL).exists()


def test_seed_demo_refuses_a_database_of_real_people_unless_forced():
    UserFactory(email="someone.real@example.org")
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not User.objects.filter(email=STAFF_EMAIL).exists()
    seed(force=True)
    assert User.objects.filter(email=STAFF_EMAIL, is_superuser=True).exists()


def test_seed_demo_runs_again_on_its_own_demo_after_people_signed_up_there():
    # `make run` seeds on every start; a newcomer who signed up on the demo must not stop it.
    seed()
    UserFactory(email="tried.the.demo@example.org")
    out, _err = seed()
    assert "Demo data is ready" in out
