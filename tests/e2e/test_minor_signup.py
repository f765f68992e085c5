"""A minor's sign-up and their guardian's approval, in a real browser: the minor signs up and
lands on the waiting page, names their guardian; the guardian follows the e-mailed invitation,
creates their own account, confirms, follows the second confirmation (email_plus), approves
with a choice; the minor then reaches their dashboard."""

from __future__ import annotations

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from consent import ledger
from consent.models import ConsentEvent
from guardianship.models import Guardianship, MinorAccount
from tests.e2e.helpers import field
from tests.factories import PurposeFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MINOR_EMAIL = "young.person@example.org"
GUARDIAN_EMAIL = "parent@example.org"
PASSWORD = "correct-horse-battery-42"
CONFIRM_LINK = r"/accounts/confirm-email/"


def link_to(address: str, pattern: str) -> str:
    """The path of the newest link matching `pattern` in the mail sent to `address`."""
    for message in reversed(mail.outbox):
        if address in message.to:
            for url in re.findall(r"https?://\S+", str(message.body)):
                if re.search(pattern, url):
                    return urlsplit(url).path
    raise AssertionError(f"no {pattern} link was e-mailed to {address}")


def years_ago(years: int) -> str:
    today = timezone.localdate()
    return (today.replace(year=today.year - years, day=1) - datetime.timedelta(days=1)).isoformat()


def sign_up(page: Page, base: str, email: str, birth_date: str, *, adult: bool = False) -> None:
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Sign up")
    field(page, "E-mail").fill(email)
    field(page, "Password").fill(PASSWORD)
    field(page, "Password (again)").fill(PASSWORD)
    field(page, "Date of birth").fill(birth_date)
    field(page, "Country / region").select_option(label="Germany")
    if adult:
        # The date of birth shows an adult: the adult-only choices appear at once, unticked,
        # and one submission creates the account (no password typed twice).
        expect(page.get_by_label("Personalised ads")).to_be_visible()
        expect(page.get_by_label("Personalised ads")).not_to_be_checked()
    else:
        expect(page.get_by_label("Newsletter")).to_have_count(0)  # their guardian decides
    page.get_by_role("button", name="Sign up").click()
    expect(heading).to_have_text("Check your e-mail")
    page.goto(base + link_to(email, CONFIRM_LINK))
    page.get_by_role("button", name="Confirm").click()
    # Confirmed in the browser that signed up: the person is signed in at once.
    expect(page.get_by_role("status")).to_contain_text(f"You have confirmed {email}.")
    expect(page.get_by_role("status")).to_contain_text(f"You are signed in as {email}.")


def test_a_minor_signs_up_and_their_guardian_approves(
    live_server, page: Page, browser: Browser, settings, csp_violations: list[str]
) -> None:
    settings.GUARDIAN_EMAIL_PLUS_DELAY_HOURS = 0  # the second confirmation goes out at once
    PurposeFactory(key="newsletter", name="Newsletter", description="News about the service.")
    PurposeFactory(key="ads", name="Personalised ads", offered_to_minors=False)
    base = live_server.url
    heading = page.get_by_role("heading", level=1)

    # 1. A 14-year-old in Germany signs up and confirms their address, which signs them in:
    #    only the waiting page is open to them. The sign-up page, before any age is known, offers no
    #    adult-only use.
    page.goto(base + "/accounts/signup/")
    expect(page.get_by_label("Newsletter")).to_be_visible()
    expect(page.get_by_label("Personalised ads")).to_have_count(0)
    sign_up(page, base, MINOR_EMAIL, years_ago(14))
    expect(heading).to_have_text("Waiting for your guardian")
    page.goto(base + "/dashboard/consent/")
    expect(heading).to_have_text("Waiting for your guardian")

    # 2. They name their guardian, who is e-mailed an invitation.
    field(page, "Your parent's or guardian's e-mail address").fill(GUARDIAN_EMAIL)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("We sent the invitation")
    expect(page.get_by_role("main")).to_contain_text(GUARDIAN_EMAIL)

    # 3. The guardian, in their own browser, follows the invitation: what would be collected
    #    and why, and never an adult-only use. They create their own account.
    guardian_context = browser.new_context(locale="en-GB")
    guardian_context.set_default_timeout(10_000)
    guardian = guardian_context.new_page()
    g_heading = guardian.get_by_role("heading", level=1)
    guardian.goto(base + link_to(GUARDIAN_EMAIL, r"/guardian-consent/i/"))
    expect(g_heading).to_have_text("Approve a minor's account")
    expect(guardian.get_by_role("main")).to_contain_text("Newsletter")
    expect(guardian.get_by_role("main")).not_to_contain_text("Personalised ads")
    guardian.get_by_role("link", name="Create an account").click()
    sign_up(guardian, base, GUARDIAN_EMAIL, "1980-04-12", adult=True)

    # 4. Confirming their address signed them in and brought them back to the invitation, now
    #    naming the account; they accept.
    expect(g_heading).to_have_text("Approve a minor's account")
    expect(guardian.get_by_role("main")).to_contain_text(MINOR_EMAIL)
    field(guardian, "I am this person's parent or legal guardian, and an adult.").check()
    guardian.get_by_role("button", name="Continue").click()
    expect(g_heading).to_have_text("Your approval of a minor's account")
    expect(guardian.get_by_role("main")).to_contain_text("We e-mailed the second confirmation")

    # 5. The second confirmation's link: they choose the newsletter for the minor and approve.
    guardian.goto(base + link_to(GUARDIAN_EMAIL, r"/guardian-consent/confirm/"))
    expect(g_heading).to_have_text("Approve the account")
    field(guardian, "Newsletter").check()
    field(guardian, "I approve this account, with the choices above.").check()
    guardian.get_by_role("button", name="Approve").click()
    expect(g_heading).to_have_text("Account approved")
    guardian_context.close()

    # 6. The minor now reaches their dashboard.
    page.goto(base + "/dashboard/")
    expect(heading).to_have_text("Hello")

    minor = User.objects.get(email=MINOR_EMAIL)
    assert MinorAccount.objects.get(user=minor).status == MinorAccount.Status.ACTIVE
    approval = Guardianship.objects.get(minor=minor)
    assert (approval.status, approval.verification_method) == ("approved", "email_plus")
    assert approval.guardian == User.objects.get(email=GUARDIAN_EMAIL)
    events = ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(minor.pk))
    assert [(e.purpose.key, e.decision, e.actor) for e in events] == [
        ("newsletter", "given", "guardian")
    ]
    assert csp_violations == []
