"""Staff reads of connected systems and jobs: never a secret, a DSN or an identifier; and only
past the admin's own gate, a second factor (a session that used one, or a staff token made in
one)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from connectors.models import JobStatus
from core.models import AuditLogEntry
from tests.connectors.factories import SECRET, ConnectorJobFactory, ManualSystemFactory
from tests.factories import DEFAULT_PASSWORD, PrivacyOfficerFactory, UserFactory
from tests.requests_dsar.staff import signed_in as staff_signed_in

pytestmark = pytest.mark.django_db


def client_for(user, *, staff_scope=True):
    _token, secret = account_services.api_token_create(
        user=user,
        name="test",
        lifetime=datetime.timedelta(hours=1),
        staff_scope=staff_scope and user.is_staff,
        second_factor_used=True,
    )
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_staff_see_systems_without_their_secrets():
    job = ConnectorJobFactory()

    response = client_for(PrivacyOfficerFactory()).get("/api/v1/connectors/systems/")

    system = response.json()["results"][0]
    assert system["key_id"] == job.system.key_id
    assert SECRET not in response.content.decode()
    assert "secret_encrypted" not in system


def test_a_system_without_a_url_shows_null_not_an_empty_string():
    system = ManualSystemFactory()

    response = client_for(PrivacyOfficerFactory()).get(f"/api/v1/connectors/systems/{system.pk}/")

    assert response.json()["url"] is None


def test_staff_follow_a_requests_jobs_without_seeing_the_subjects_identifiers():
    job = ConnectorJobFactory(status=JobStatus.WAITING)
    client = client_for(PrivacyOfficerFactory())

    jobs = client.get(f"/api/v1/connectors/jobs/?request={job.request.public_id}")
    progress = client.get(f"/api/v1/connectors/requests/{job.request.public_id}/progress/")

    assert [j["id"] for j in jobs.json()["results"]] == [str(job.pk)]
    assert job.request.subject.email not in jobs.content.decode()
    assert progress.json()["text"] == "0 of 1 system done"


def test_a_user_who_is_not_staff_is_refused():
    ConnectorJobFactory()

    response = client_for(UserFactory()).get("/api/v1/connectors/jobs/")

    assert response.status_code == 403


def test_a_malformed_filter_is_a_clear_400():
    response = client_for(PrivacyOfficerFactory()).get("/api/v1/connectors/jobs/?status=lost")

    assert response.status_code == 400
    assert "status" in response.json()


def test_a_staff_members_personal_token_does_not_open_the_staff_api():
    officer = PrivacyOfficerFactory()
    response = client_for(officer, staff_scope=False).get("/api/v1/connectors/systems/")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    refused = AuditLogEntry.objects.get(action="staff.api_refused")
    assert (refused.actor_user_id, refused.data["reason"]) == (officer.pk, "token_not_staff")
    assert refused.target_id == "api:connectors-systems"


def password_session(user) -> Client:
    browser = Client()
    browser.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    return browser


def test_a_staff_session_without_a_second_factor_is_refused_and_audited():
    browser = password_session(PrivacyOfficerFactory())
    assert browser.get("/api/v1/connectors/jobs/").status_code == 403
    refused = AuditLogEntry.objects.get(action="staff.api_refused")
    assert refused.data["reason"] == "no_second_factor"


def test_a_staff_session_that_used_a_second_factor_is_let_in():
    browser = staff_signed_in(PrivacyOfficerFactory())
    assert browser.get("/api/v1/connectors/jobs/").status_code == 200


def test_a_staff_token_is_issued_only_in_a_session_that_used_a_second_factor():
    officer = PrivacyOfficerFactory()
    with pytest.raises(ValidationError):
        account_services.api_token_create(
            user=officer, name="x", lifetime=None, staff_scope=True, second_factor_used=False
        )
    with pytest.raises(ValidationError):
        account_services.api_token_create(
            user=UserFactory(), name="x", lifetime=None, staff_scope=True, second_factor_used=True
        )
    token, _secret = account_services.api_token_create(
        user=officer, name="ops", lifetime=None, staff_scope=True, second_factor_used=True
    )
    issued = AuditLogEntry.objects.get(action="staff.api_token_issued")
    assert (issued.actor_user_id, issued.target_id) == (officer.pk, str(token.pk))


def test_the_token_page_offers_staff_access_only_after_a_second_factor():
    officer = PrivacyOfficerFactory()
    browser = password_session(officer)
    browser.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    page = browser.get(reverse("dashboard:token_create")).content.decode()
    assert 'name="staff_scope"' not in page
    assert "signed in with two-factor authentication" in page
    box = {"name": "ops", "lifetime": "30", "staff_scope": "on"}
    browser.post(reverse("dashboard:token_create"), box)
    assert not officer.api_tokens.get().staff_scope  # the box was not offered: ignored
    with_second_factor = staff_signed_in(officer)
    with_second_factor.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    page = with_second_factor.get(reverse("dashboard:token_create")).content.decode()
    assert 'name="staff_scope"' in page
    with_second_factor.post(reverse("dashboard:token_create"), {**box, "name": "ops 2"})
    assert officer.api_tokens.get(name="ops 2").staff_scope
