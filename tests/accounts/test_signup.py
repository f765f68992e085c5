"""E-mail sign-up: mandatory verification, date of birth and region, clean refusals."""

import datetime
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import LoginEvent, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    data = {
        "email": "new.person@example.org",
        "password1": "a-long-test-password-42",
        "password2": "a-long-test-password-42",
        "birth_date": "1991-05-17",
        "region": "FR",
    }
    data.update(overrides)
    return data


def test_signup_stores_birth_date_and_region_and_sends_a_verification_link(client):
    response = client.post(reverse("account_signup"), signup_data())
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert (user.profile.birth_date, user.profile.region.code) == (datetime.date(1991, 5, 17), "FR")
    assert re.search(r"/accounts/confirm-email/\S+", mail.outbox[0].body)


def test_an_unverified_account_cannot_log_in(client):
    client.post(reverse("account_signup"), signup_data())
    client.logout()
    response = client.post(
        reverse("account_login"),
        {"login": "new.person@example.org", "password": "a-long-test-password-42"},
    )
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_following_the_verification_link_verifies_the_address(client):
    client.post(reverse("account_signup"), signup_data())
    link = re.search(r"/accounts/confirm-email/\S+", mail.outbox[0].body).group(0)
    client.post(link)
    assert EmailAddress.objects.get(email="new.person@example.org").verified


def test_confirming_in_the_browser_that_signed_up_signs_the_person_in(client):
    client.post(reverse("account_signup"), signup_data())
    link = re.search(r"/accounts/confirm-email/\S+", mail.outbox[0].body).group(0)
    response = client.post(link)
    user = User.objects.get(email="new.person@example.org")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert response.url == reverse("dashboard:home")
    [sign_in] = LoginEvent.objects.filter(user=user)
    assert sign_in.get_method_display() == "Confirming the e-mail address"


def test_a_link_opened_in_another_browser_confirms_but_does_not_sign_in(client):
    client.post(reverse("account_signup"), signup_data())
    link = re.search(r"/accounts/confirm-email/\S+", mail.outbox[0].body).group(0)
    elsewhere = Client()
    response = elsewhere.post(link)
    assert EmailAddress.objects.get(email="new.person@example.org").verified
    assert "_auth_user_id" not in elsewhere.session
    assert response.url == reverse("account_login")
    assert not LoginEvent.objects.exists()


@pytest.mark.parametrize("email", ["Taken@Example.org", "taken@example.org", "TAKEN@EXAMPLE.ORG"])
def test_an_address_already_registered_in_any_letter_case_gets_no_second_account(client, email):
    # Sign-up does not reveal whether an address is registered (account enumeration would leak
    # who uses the service): the page answers as for a new address, the owner is told by e-mail.
    UserFactory(email="taken@example.org")
    client.post(reverse("account_signup"), signup_data(email=email))
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["taken@example.org"]]
    assert "already" in mail.outbox[0].body


def test_emails_are_stored_in_lower_case(client):
    client.post(reverse("account_signup"), signup_data(email="Mixed.Case@Example.ORG"))
    assert User.objects.filter(email="mixed.case@example.org").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("birth_date", (datetime.date.today() + datetime.timedelta(days=1)).isoformat(), "future"),
        ("birth_date", "1850-01-01", "real date of birth"),
        ("birth_date", "not-a-date", "valid date"),
        ("region", "XX", "valid choice"),
        ("region", "", "required"),
        ("email", "not-an-email", "valid email"),
        ("email", "a" * 250 + "@example.org", "254"),
    ],
)
def test_bad_sign_up_input_gets_a_clear_message_and_creates_nothing(client, field, value, message):
    response = client.post(reverse("account_signup"), signup_data(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_passwords_are_stored_as_argon2_hashes_only(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    client.post(reverse("account_signup"), signup_data())
    stored = User.objects.get().password
    assert stored.startswith("argon2$")
    assert "a-long-test-password-42" not in stored
