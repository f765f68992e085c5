"""Every refusal of a staff member on a route that names an object leaves an audit entry (ids,
never a token's value), once: a view that audits its own refusal is not audited twice."""

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditLogEntry
from tests.factories import (
    DEFAULT_PASSWORD,
    DataSubjectRequestFactory,
    PrivacyOfficerFactory,
    SupportAgentFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db


def password_session(user) -> Client:
    browser = Client()
    browser.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    return browser


def refusals():
    return list(AuditLogEntry.objects.filter(action="staff.access_refused"))


def test_a_staff_member_refused_someone_elses_request_page_is_audited():
    agent = SupportAgentFactory()
    theirs = DataSubjectRequestFactory()
    response = signed_in(agent).get(reverse("dsar:detail", args=[theirs.public_id]))
    assert response.status_code == 404
    (entry,) = refusals()
    assert (entry.actor_user_id, entry.target_id) == (agent.pk, "dsar:detail")
    assert entry.data == {
        "status": 404,
        "reason": "refused",
        "ids": {"public_id": str(theirs.public_id)},
    }


def test_a_person_who_is_not_staff_is_not_audited_for_a_404(user_client):
    theirs = DataSubjectRequestFactory()
    assert user_client.get(reverse("dsar:detail", args=[theirs.public_id])).status_code == 404
    assert refusals() == []


def test_staff_without_a_second_factor_sent_away_from_an_admin_object_is_audited():
    officer = PrivacyOfficerFactory()
    someone = UserFactory()
    response = password_session(officer).get(
        reverse("admin:accounts_user_change", args=[someone.pk])
    )
    assert response.status_code == 302
    (entry,) = refusals()
    assert entry.data["reason"] == "no_second_factor"
    assert entry.data["ids"] == {"object_id": str(someone.pk)}


def test_a_token_in_the_route_is_never_written_down():
    agent = SupportAgentFactory()
    signed_in(agent).get("/files/exports/not-a-real-signed-token/")
    entries = AuditLogEntry.objects.filter(actor_user_id=agent.pk)
    assert entries.exists()
    assert all("not-a-real-signed-token" not in str(e.data) for e in entries)


def test_a_view_that_audits_its_own_refusal_is_not_audited_twice():
    officer = PrivacyOfficerFactory()
    response = password_session(officer).get("/api/v1/connectors/systems/1/")
    assert response.status_code == 403
    assert AuditLogEntry.objects.filter(action="staff.api_refused").count() == 1
    assert refusals() == []
