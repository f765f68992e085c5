"""A new user's first visit, in a real browser: sign up, verify the address (which signs them
in), turn on two-factor, sign in again with a code, edit the profile and find the sign-ins in
the history."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import LoginEvent, Profile, User
from tests.e2e.helpers import field

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "new.person@example.org"
PASSWORD = "correct-horse-battery-42"
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+")
TOTP_PERIOD = 30
# A code read this close to the end of its period may expire before the server checks it.
TOTP_MARGIN_SECONDS = 3


def fresh_totp_code(totp: pyotp.TOTP, *, after_period: int = -1) -> tuple[str, int]:
    """A code of a period later than `after_period` with a few seconds left to live.

    allauth accepts only the current period's code (no MFA_TOTP_TOLERANCE), and a user types a
    new code rather than the one they just used, so this waits for the next period: at most one.
    """
    deadline = time.monotonic() + TOTP_PERIOD + TOTP_MARGIN_SECONDS + 5
    while time.monotonic() < deadline:
        now = time.time()
        period = int(now // TOTP_PERIOD)
        if period > after_period and TOTP_PERIOD - now % TOTP_PERIOD > TOTP_MARGIN_SECONDS:
            return totp.at(now), period
        time.sleep(0.2)
    raise AssertionError("no fresh TOTP period came up in time")


def sign_in_with_password(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    field(page, "E-mail").fill(EMAIL)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_new_user_journey(live_server, page: Page, csp_violations: list[str]) -> None:
    base = live_server.url
    heading = page.get_by_role("heading", level=1)
    messages = page.get_by_role("status")

    # 1. Landing page, then sign up.
    page.goto(base + "/")
    expect(heading).to_contain_text("in your hands")
    page.get_by_role("link", name="Create an account").click()
    expect(heading).to_have_text("Sign up")
    field(page, "E-mail").fill(EMAIL)
    field(page, "Password").fill(PASSWORD)
    field(page, "Password (again)").fill(PASSWORD)
    field(page, "Date of birth").fill("1991-06-15")
    field(page, "Country / region").select_option(label="Netherlands")
    page.get_by_role("button", name="Sign up").click()
    expect(heading).to_have_text("Check your e-mail")

    # 2. The verification link from the e-mail, confirmed in the browser.
    links = [(m.to, CONFIRM_LINK.search(str(m.body))) for m in mail.outbox]
    [(to, link)] = [(to, link) for to, link in links if link]
    assert to == [EMAIL]
    page.goto(
        base + urlsplit(link.group(0)).path
    )  # the live server's address, whatever the mail says
    expect(heading).to_have_text("Confirm your e-mail address")
    expect(page.get_by_role("main")).to_contain_text(EMAIL)
    page.get_by_role("button", name="Confirm").click()
    expect(messages).to_contain_text(f"You have confirmed {EMAIL}.")

    # 3. Confirming in the browser that signed up signs the person in.
    expect(messages).to_contain_text(f"You are signed in as {EMAIL}.")
    expect(heading).to_have_text("Hello")
    expect(page.get_by_role("region", name="Security")).to_contain_text("Off")

    # 4. Turn on two-factor with an authenticator app; allauth then shows recovery codes.
    page.goto(base + "/accounts/2fa/")
    expect(heading).to_have_text("Two-factor authentication")
    expect(page.get_by_role("main")).to_contain_text("An authenticator app is not active.")
    page.get_by_role("link", name="Activate").click()
    # Changing the second factor asks for the password again, even right after signing in.
    expect(heading).to_have_text("Confirm that it is you")
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(heading).to_have_text("Turn on an authenticator app")
    expect(page.get_by_role("img")).to_be_visible()  # the QR code
    secret = field(page, "Authenticator secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    totp = pyotp.TOTP(secret)
    code, used_period = fresh_totp_code(totp)
    field(page, "Authenticator code").fill(code)
    page.get_by_role("button", name="Activate").click()
    expect(messages).to_contain_text("Authenticator app activated.")
    expect(heading).to_have_text("Recovery codes")
    recovery_codes = field(page, "Unused codes").input_value().split()
    assert len(recovery_codes) == 10
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("region", name="Security")).to_contain_text("On")

    # 5. Sign out, sign in again: password, then a fresh code from the app.
    page.get_by_role("button", name="Sign out").click()
    expect(messages).to_contain_text("You have signed out.")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in").click()
    sign_in_with_password(page)
    expect(heading).to_have_text("Two-factor authentication")
    code, _period = fresh_totp_code(totp, after_period=used_period)
    field(page, "Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(heading).to_have_text("Hello")

    # 6. Edit the profile: fill some fields, then clear one.
    page.get_by_role("link", name="Profile", exact=True).click()
    expect(heading).to_have_text("Edit your profile")
    expect(field(page, "Date of birth")).to_have_value("1991-06-15")
    expect(field(page, "Country / region")).to_have_value("NL")
    field(page, "Nickname").fill("quietfox")
    field(page, "Occupation / industry").fill("Cartography")
    field(page, "Personal signature").fill("Maps, not tracks.")
    page.get_by_role("button", name="Save profile").click()
    expect(messages).to_contain_text("Your profile is saved.")
    expect(field(page, "Nickname")).to_have_value("quietfox")
    expect(field(page, "Occupation / industry")).to_have_value("Cartography")
    expect(field(page, "Personal signature")).to_have_value("Maps, not tracks.")
    field(page, "Personal signature").fill("")
    page.get_by_role("button", name="Save profile").click()
    expect(messages).to_contain_text("Your profile is saved.")
    expect(field(page, "Personal signature")).to_have_value("")
    expect(field(page, "Nickname")).to_have_value("quietfox")
    page.get_by_role("link", name="Dashboard").click()
    expect(heading).to_have_text("Hello, quietfox")

    # 7. The history lists both sign-ins, the newest with its second factor.
    page.get_by_role("link", name="History", exact=True).click()
    expect(heading).to_have_text("Login and device history")
    sign_ins = page.get_by_role("region", name="Sign-ins").locator("tbody tr")
    expect(sign_ins).to_have_count(2)
    expect(sign_ins.nth(0).locator("td").nth(1)).to_have_text("Password + second factor")
    expect(sign_ins.nth(1).locator("td").nth(1)).to_have_text("Confirming the e-mail address")
    expect(sign_ins.nth(0)).to_contain_text("Chrome")

    # What the browser saw is what was stored.
    user = User.objects.get(email=EMAIL)
    assert EmailAddress.objects.get(user=user).verified
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }
    profile = Profile.objects.get(user=user)
    assert (profile.nickname, profile.occupation, profile.signature) == (
        "quietfox",
        "Cartography",
        "",
    )
    assert str(profile.birth_date) == "1991-06-15"
    assert profile.region.code == "NL"
    assert list(LoginEvent.objects.filter(user=user).values_list("method", flat=True)) == [
        LoginEvent.Method.MFA,
        LoginEvent.Method.EMAIL_CONFIRMATION,
    ]
    assert csp_violations == []
