"""Staff reads of connected systems and jobs: never a secret, a DSN or an identifier."""

import datetime

import pytest
from django.test import Client

from accounts import services as account_services
from connectors.models import JobStatus
from tests.connectors.factories import SECRET, ConnectorJobFactory, ManualSystemFactory
from tests.factories import PrivacyOfficerFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    _token, secret = account_services.api_token_create(
        user=user, name="test", lifetime=datetime.timedelta(hours=1)
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
