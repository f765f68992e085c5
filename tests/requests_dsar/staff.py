"""Staff sessions for admin tests: signed in through the portal's log-in with a TOTP code."""

from __future__ import annotations

import pyotp
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

SECRET = pyotp.random_base32()


def signed_in(staff) -> Client:  # type: ignore[no-untyped-def]
    """A client for `staff`, signed in with password and second factor (the admin needs both)."""
    TOTP.activate(staff, SECRET)
    client = Client()
    client.post(reverse("account_login"), {"login": staff.email, "password": DEFAULT_PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(SECRET).now()})
    assert client.get(reverse("admin:index")).status_code == 200
    return client
