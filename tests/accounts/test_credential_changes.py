"""A change of how someone signs in (password changed or reset, e-mail address changed, two-factor
turned off) revokes every personal API token, since whoever held the old credential may have made
one; it ends the other sessions (always for the password, by the person's choice otherwise); and
the person is told, in the inbox and by e-mail, that the tokens went."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import services
from notices.models import Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-password-77"


def signed_in(user, password) -> Client:
    device = Client()
    device.post(reverse("account_login"), {"login": user.email, "password": password})
    return device


def token_for(user, name="backup script") -> Client:
    _row, secret = services.api_token_create(user=user, name=name, lifetime=None)
    return Client(headers={"Authorization": f"Bearer {secret}"})


def revoked_notices(user):
    return list(Message.objects.filter(user=user, title="Your API tokens were revoked"))


def test_changing_the_password_revokes_the_tokens_and_signs_out_the_other_devices(
    user, password, django_capture_on_commit_callbacks
):
    laptop, phone = signed_in(user, password), signed_in(user, password)
    script = token_for(user)
    assert script.get("/api/v1/me/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        laptop.post(
            reverse("account_change_password"),
            {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
    assert script.get("/api/v1/me/").status_code == 401
    assert phone.get(reverse("dashboard:home")).status_code == 302
    assert laptop.get(reverse("dashboard:home")).status_code == 200
    assert UserSession.objects.filter(user=user).count() == 1  # gone from the devices list too
    (notice,) = revoked_notices(user)
    assert "your personal API token was revoked" in notice.body
    assert "Because your password was changed" in notice.body
    (sent,) = [m for m in mail.outbox if "Your API tokens were revoked" in m.subject]
    assert sent.to == [user.email]
    assert "Because your password was changed" in sent.body


def test_the_change_page_says_what_a_new_password_revokes(user_client):
    page = user_client.get(reverse("account_change_password")).content.decode()
    assert "revokes your personal API tokens" in page


def test_resetting_the_password_by_e_mail_revokes_the_tokens(client, user):
    script = token_for(user)
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(
        r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body
    ).group(1)
    form_url = client.get(link).url
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert script.get("/api/v1/me/").status_code == 401
    (notice,) = revoked_notices(user)
    assert "your password was reset" in notice.body


def change_email(device: Client, password: str, new: str, *, end_other_sessions: bool) -> None:
    form = {"action_add": "", "email": new}
    if end_other_sessions:
        form["end_other_sessions"] = "on"
    device.post(reverse("account_reauthenticate"), {"password": password})
    device.post(reverse("account_email"), form)
    body = str(mail.outbox[-1].body)
    device.post(re.findall(r"http://testserver(/accounts/confirm-email/\S+)", body)[0])


@pytest.mark.parametrize("ticked", [True, False])
def test_a_confirmed_new_address_revokes_the_tokens_and_ends_other_sessions_if_asked(
    user, password, ticked
):
    laptop, phone = signed_in(user, password), signed_in(user, password)
    script = token_for(user)
    change_email(laptop, password, "moved@example.org", end_other_sessions=ticked)
    user.refresh_from_db()
    assert user.email == "moved@example.org"
    assert script.get("/api/v1/me/").status_code == 401
    assert (phone.get(reverse("dashboard:home")).status_code == 302) is ticked
    assert laptop.get(reverse("dashboard:home")).status_code == 200
    (notice,) = revoked_notices(user)
    assert "your e-mail address was changed" in notice.body


def test_the_e_mail_page_offers_the_choice_ticked(user, password):
    page = signed_in(user, password).get(reverse("account_email")).content.decode()
    box = re.search(r'<input[^>]*name="end_other_sessions"[^>]*>', page).group(0)
    assert "checked" in box
    assert "Also sign me out on my other devices" in page


@pytest.mark.parametrize("ticked", [True, False])
def test_turning_off_two_factor_revokes_the_tokens_and_ends_other_sessions_if_asked(
    user, password, ticked
):
    laptop, phone = signed_in(user, password), signed_in(user, password)
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    script = token_for(user)
    laptop.post(reverse("account_reauthenticate"), {"password": password})
    page = laptop.get(reverse("mfa_deactivate_totp")).content.decode()
    assert "Your personal API tokens are revoked" in page
    laptop.post(reverse("mfa_deactivate_totp"), {"end_other_sessions": "on"} if ticked else {})
    assert not Authenticator.objects.filter(user=user, type="totp").exists()
    assert script.get("/api/v1/me/").status_code == 401
    assert (phone.get(reverse("dashboard:home")).status_code == 302) is ticked
    assert laptop.get(reverse("dashboard:home")).status_code == 200
    (notice,) = revoked_notices(user)
    assert "two-factor authentication was turned off" in notice.body


def test_without_tokens_there_is_nothing_to_tell(user, password):
    signed_in(user, password).post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert revoked_notices(user) == []


def test_another_persons_tokens_are_untouched(user, password):
    someone = UserFactory()
    other = token_for(someone)
    signed_in(user, password).post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert other.get("/api/v1/me/").json()["id"] == someone.pk


def test_the_two_factor_page_offers_the_choice_ticked(user, password):
    device = signed_in(user, password)
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    device.post(reverse("account_reauthenticate"), {"password": password})
    page = device.get(reverse("mfa_deactivate_totp")).content.decode()
    box = re.search(r'<input[^>]*name="end_other_sessions"[^>]*>', page).group(0)
    assert "checked" in box


def test_the_security_notice_of_a_change_reads_in_the_portals_words(user, password, settings):
    signed_in(user, password).post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    (notice,) = [m for m in mail.outbox if "password" in m.subject.lower()]
    assert notice.subject == f"[{settings.COMPANY_NAME}] Your password was changed"
    assert "This change was just made to your account" in notice.body
    assert "Your password has been changed." in notice.body
    assert "reset your password at once" in notice.body
    assert "proper security precautions" not in notice.body
