"""Login and device history: every sign-in recorded with time, IP, device and method."""

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.urls import reverse

from accounts.models import LoginEvent
from notices import services as notice_services
from notices.models import Category, Message
from notices.security import new_device_notify
from tests.factories import LoginEventFactory, UserFactory
from tests.requests_dsar.staff import totp_code

pytestmark = pytest.mark.django_db

FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101 Firefox/120.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def log_in(client, user, password, **headers):
    return client.post(
        reverse("account_login"), {"login": user.email, "password": password}, **headers
    )


def test_a_password_login_is_recorded_with_ip_device_and_method(client, user, password):
    log_in(client, user, password, HTTP_USER_AGENT=FIREFOX_MAC, REMOTE_ADDR="203.0.113.9")
    event = LoginEvent.objects.get(user=user)
    assert (event.method, event.ip_address) == ("password", "203.0.113.9")
    assert (event.browser.split()[0], event.operating_system.split()[0]) == ("Firefox", "Mac")


def test_a_login_with_a_second_factor_is_recorded_as_such(client, password):
    user = UserFactory()
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    log_in(client, user, password)
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert LoginEvent.objects.get(user=user).method == "mfa"


def test_a_failed_login_records_nothing(client, user):
    log_in(client, user, "wrong-password")
    assert not LoginEvent.objects.filter(user=user).exists()


def test_the_history_page_lists_only_the_users_own_logins(user_client, user):
    LoginEventFactory(user=user, browser="Firefox 120.0")
    LoginEventFactory(browser="Opera 99.0")  # someone else's
    page = user_client.get(reverse("dashboard:history")).content.decode()
    assert "Firefox 120.0" in page
    assert "Opera 99.0" not in page


def test_a_login_from_a_new_device_sends_a_notice_without_personal_details(
    client, user, password, django_capture_on_commit_callbacks
):
    LoginEventFactory(user=user)  # an earlier login from a Linux computer
    with django_capture_on_commit_callbacks(execute=True):
        log_in(client, user, password, HTTP_USER_AGENT=SAFARI_IPHONE, REMOTE_ADDR="198.51.100.7")
    notice = Message.objects.get(user=user, category=Category.ACCOUNT_SECURITY)
    assert notice.link == "/dashboard/history/"
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "198.51.100.7" not in mail.outbox[0].body + notice.body
    assert f"/dashboard/inbox/{notice.pk}/" in mail.outbox[0].body


def test_a_new_device_notice_is_given_once_even_if_the_task_runs_again(user):
    LoginEventFactory(user=user)
    event = LoginEventFactory(user=user, device="Smartphone", browser="Mobile Safari 17.0")
    first = new_device_notify(login_event_id=event.pk)
    again = new_device_notify(login_event_id=event.pk)
    assert (first, again) == (True, False)
    assert Message.objects.filter(user=user).count() == 1


def test_a_new_device_email_follows_the_account_security_preference(
    client, user, password, django_capture_on_commit_callbacks
):
    notice_services.preferences_update(user=user, choices={Category.ACCOUNT_SECURITY: False})
    LoginEventFactory(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        log_in(client, user, password, HTTP_USER_AGENT=SAFARI_IPHONE)
    assert Message.objects.filter(user=user, category=Category.ACCOUNT_SECURITY).count() == 1
    assert mail.outbox == []


def test_a_login_from_a_known_device_sends_no_notice(
    client, user, password, django_capture_on_commit_callbacks
):
    LoginEventFactory(user=user, browser="Firefox 119.0", operating_system="Mac OS X 14.1")
    with django_capture_on_commit_callbacks(execute=True):
        log_in(client, user, password, HTTP_USER_AGENT=FIREFOX_MAC)
    assert mail.outbox == []
    assert not Message.objects.filter(user=user).exists()


def test_the_first_login_of_an_account_sends_no_new_device_notice(
    client, user, password, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        log_in(client, user, password, HTTP_USER_AGENT=SAFARI_IPHONE)
    assert mail.outbox == []
