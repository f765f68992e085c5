"""Behaviour on the real parts: PostgreSQL, Redis and a live Celery worker process."""

import time

import pytest
from django.db import IntegrityError, connection
from django.test import Client
from django.urls import reverse

from accounts.models import LoginEvent, User
from notices.models import Category, EmailState, Message
from tests.factories import LoginEventFactory, UserFactory

pytestmark = pytest.mark.integration

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def test_the_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_the_database_refuses_an_email_differing_only_in_case():
    UserFactory(email="same@example.org")
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="SAME@example.org")])


@pytest.mark.django_db
def test_health_reports_the_real_broker_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_a_new_device_notice_goes_out_through_the_worker_over_smtp(
    celery_worker_process, smtp_sink, password
):
    user = UserFactory()
    LoginEventFactory(user=user)
    before = len(smtp_sink.messages)
    Client().post(
        reverse("account_login"),
        {"login": user.email, "password": password},
        HTTP_USER_AGENT=IPHONE,
    )
    messages = smtp_sink.wait_for(before + 1)
    assert [m["To"] for m in messages[before:]] == [user.email]
    assert LoginEvent.objects.filter(user=user, notified_at__isnull=False).count() == 1
    # The inbox notice the e-mail came from, marked sent by the worker (awaited: the test
    # database must not be flushed under that write).
    notice = Message.objects.filter(user=user, category=Category.ACCOUNT_SECURITY)
    deadline = time.monotonic() + 30
    while not notice.filter(email_state=EmailState.SENT).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert notice.filter(email_state=EmailState.SENT).count() == 1
