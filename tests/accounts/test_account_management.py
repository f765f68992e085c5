"""Password reset and change, e-mail change with re-verification, signing out other devices."""

import datetime
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-password-77"


def test_a_password_reset_link_sets_a_new_password(client, user):
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(
        r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body
    ).group(1)
    form_url = client.get(link).url  # allauth moves the key out of the URL first
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_signing_in_names_the_person_by_their_address_not_an_internal_id(client, user, password):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": password}, follow=True
    )
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"You are signed in as {user.email}."]
    assert "User #" not in response.content.decode()


def test_account_mails_go_through_the_one_seam_with_the_companys_prefix(client, user, settings):
    client.post(reverse("account_reset_password"), {"email": user.email})
    (sent,) = mail.outbox
    assert sent.subject.startswith(f"[{settings.COMPANY_NAME}] ")
    assert sent.to == [user.email]


def test_an_account_mail_is_never_written_to_an_address_an_erasure_left(rf):
    from allauth.core import context

    from accounts.adapters import AccountAdapter

    with context.request_context(rf.get("/")):
        AccountAdapter().send_mail(
            "account/email/password_reset_key",
            "erased-1a2b@erased.invalid",
            {"password_reset_url": "http://testserver/x/", "user": None},
        )
    assert mail.outbox == []


def test_a_reset_request_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")


def test_changing_the_password_requires_the_current_one(user_client, user, password):
    refused = user_client.post(
        reverse("account_change_password"),
        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert refused.status_code == 200
    user_client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_new_email_address_must_be_verified_before_it_counts(client, user, password):
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    change = {"action_add": "", "email": "Moved@Example.org"}
    asked = client.post(reverse("account_email"), change)
    assert asked.url.startswith(reverse("account_reauthenticate"))  # a sensitive action
    client.post(reverse("account_reauthenticate"), {"password": password})
    client.post(reverse("account_email"), change)
    new = EmailAddress.objects.get(email="moved@example.org")
    assert not new.verified
    assert mail.outbox[-1].to == ["moved@example.org"]
    user.refresh_from_db()
    assert user.email != "moved@example.org"


def test_a_user_can_sign_out_their_other_sessions(user, password):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.post(reverse("account_login"), {"login": user.email, "password": password})
    assert UserSession.objects.filter(user=user).count() == 2
    laptop.post(reverse("usersessions_list"), {"action": "end"})
    assert phone.get(reverse("dashboard:home")).status_code == 302
    assert laptop.get(reverse("dashboard:home")).status_code == 200


def test_the_dashboard_nudges_towards_two_factor_until_it_is_on(user_client, user):
    from allauth.mfa.totp.internal.auth import TOTP

    page = user_client.get(reverse("dashboard:home")).content.decode()
    assert "Turn on two-factor authentication" in page
    assert f'href="{reverse("mfa_activate_totp")}"' in page
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    assert "Turn on two-factor" not in user_client.get(reverse("dashboard:home")).content.decode()


SIGN_UP = {
    "email": "new.person@example.org",
    "password1": "correct-horse-battery-42",
    "password2": "correct-horse-battery-42",
    "birth_date": "1990-01-01",
    "region": "NL",
}


def sign_up(client, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(reverse("account_signup"), SIGN_UP, **kwargs)


def test_the_confirmation_mail_speaks_as_the_company_to_the_person(client, settings):
    sign_up(client)
    [sent] = [m for m in mail.outbox if m.to == ["new.person@example.org"]]
    assert (
        sent.subject
        == f"[{settings.COMPANY_NAME}] Confirm your e-mail address to finish signing up"
    )
    assert sent.body.startswith("Hello,\n")
    assert "new.person@example.org is your address" in sent.body
    assert settings.COMPANY_NAME in sent.body
    for stock in ("Hello from", "User #", "has given your email address", "example.com"):
        assert stock not in sent.body


def test_the_check_your_email_page_says_how_to_get_the_link_again(client):
    page = sign_up(client, follow=True).content.decode()
    assert "Check your e-mail" in page
    assert f'href="{reverse("account_login")}"' in page
    # Signing in with the unconfirmed address sends the link again (after allauth's pause).
    mail.outbox.clear()
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=4)):
        client.post(
            reverse("account_login"),
            {"login": SIGN_UP["email"], "password": SIGN_UP["password1"]},
        )
    assert [m.to for m in mail.outbox] == [["new.person@example.org"]]
