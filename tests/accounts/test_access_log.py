"""The access log keeps authenticated requests as "Log Information", without query strings."""

import pytest
from django.urls import reverse

from accounts.models import AccessLogEntry

pytestmark = pytest.mark.django_db


def test_an_authenticated_request_is_logged_without_its_query_string(user_client, user):
    user_client.get(
        reverse("dashboard:history") + "?token=secret&q=private", REMOTE_ADDR="192.0.2.4"
    )
    entry = AccessLogEntry.objects.get(user=user)
    assert (entry.path, entry.ip_address, entry.status_code) == (
        "/dashboard/history/",
        "192.0.2.4",
        200,
    )


def test_anonymous_requests_are_not_logged(client):
    client.get("/")
    assert not AccessLogEntry.objects.exists()


def test_health_checks_are_not_logged(user_client):
    user_client.get("/healthz")
    assert not AccessLogEntry.objects.exists()


def test_a_failing_log_write_does_not_break_the_page(user_client, monkeypatch):
    from django.db import DatabaseError

    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr("accounts.middleware.services.access_log_append", broken)
    assert user_client.get(reverse("dashboard:home")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("POST", "/dashboard/profile/", 302, ("Saved the profile", "Done")),
        ("GET", "/dashboard/consent/", 200, ("Opened the consents", "Done")),
        (
            "POST",
            "/dashboard/requests/new/copy/",
            400,
            ("Filed a request", "Refused: the form had a problem"),
        ),
        ("GET", "/api/v1/me/", 200, ("Read through the API", "Done")),
        ("GET", "/somewhere/else/", 404, ("Opened a page", "Not found")),
    ],
)
def test_the_activity_log_reads_as_what_was_done_not_as_raw_requests(
    user_client, user, method, path, status, words
):
    AccessLogEntry.objects.create(user=user, method=method, path=path, status_code=status)
    page = user_client.get("/dashboard/history/").content.decode()
    assert f"<td>{words[0]}</td><td>{words[1]}</td>" in page
    assert f"{method} {path}" not in page
