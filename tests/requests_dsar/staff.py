"""Staff sessions for admin tests: signed in through the portal's log-in with a TOTP code."""

from __future__ import annotations

import time

import pyotp
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

SECRET = pyotp.random_base32()


def totp_code(secret: str) -> str:
    """The current code for `secret`, never one about to expire.

    A code generated at the very end of its 30-second window can be checked in the next one
    (no tolerance is configured): wait for a fresh window rather than fail at random.
    """
    totp = pyotp.TOTP(secret)
    remaining = totp.interval - time.time() % totp.interval
    if remaining < 2:
        time.sleep(remaining + 0.05)
    return str(totp.now())


def signed_in(staff) -> Client:  # type: ignore[no-untyped-def]
    """A client for `staff`, signed in with password and second factor (the admin needs both)."""
    TOTP.activate(staff, SECRET)
    client = Client()
    client.post(reverse("account_login"), {"login": staff.email, "password": DEFAULT_PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(SECRET)})
    assert client.get(reverse("admin:index")).status_code == 200
    return client
