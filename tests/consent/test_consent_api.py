"""/api/v1/consent/...: the signed-in user's own purposes, state, decisions, events, receipts."""

import json
from pathlib import Path

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from consent import ledger
from consent.models import ConsentEvent
from tests.factories import ProfileFactory, PurposeFactory, UserFactory

pytestmark = pytest.mark.django_db

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "data" / "kantara-consent-receipt-v1_1-schema.json").read_text()
)


def decide(client, key, decision):
    return client.post(
        f"/api/v1/consent/{key}/", {"decision": decision}, content_type="application/json"
    )


@pytest.fixture
def newsletter():
    return PurposeFactory(key="newsletter")


def test_the_purposes_offered_are_listed_with_their_legal_basis(user_client, newsletter):
    PurposeFactory(key="billing", legal_basis="contract", is_optional=False)
    body = user_client.get("/api/v1/consent/purposes/").json()
    assert [(p["key"], p["legal_basis"], p["optional"]) for p in body] == [
        ("billing", "contract", False),
        ("newsletter", "consent", True),
    ]


def test_my_state_starts_off_for_an_optional_purpose(user_client, newsletter):
    [state] = user_client.get("/api/v1/consent/").json()
    assert (state["purpose"], state["allowed"], state["decision"]) == ("newsletter", False, None)


def test_giving_consent_answers_201_with_the_event_and_the_new_state(user, user_client, newsletter):
    response = decide(user_client, "newsletter", "given")
    assert response.status_code == 201
    body = response.json()
    assert (body["state"]["allowed"], body["event"]["method"]) == (True, "api")
    assert ConsentEvent.objects.get().uuid.hex == body["event"]["id"].replace("-", "")


def test_repeating_a_decision_in_force_answers_200_and_records_nothing(user_client, newsletter):
    decide(user_client, "newsletter", "given")
    response = decide(user_client, "newsletter", "given")
    assert (response.status_code, response.json()["event"]) == (200, None)
    assert ConsentEvent.objects.count() == 1


def test_withdrawing_through_the_api_takes_effect_at_once(user, user_client, newsletter):
    decide(user_client, "newsletter", "given")
    assert decide(user_client, "newsletter", "withdrawn").status_code == 201
    assert not ledger.is_allowed(ledger.user_subject_key(user.pk), newsletter).allowed


def test_an_unknown_decision_is_400(user_client, newsletter):
    assert decide(user_client, "newsletter", "maybe").status_code == 400


def test_an_unknown_purpose_is_404(user_client):
    assert decide(user_client, "no-such-purpose", "given").status_code == 404


def test_withdrawing_a_required_purpose_is_400_with_the_reason(user_client):
    PurposeFactory(key="terms", is_optional=False)
    response = decide(user_client, "terms", "withdrawn")
    assert response.status_code == 400
    assert "needed for the service" in str(response.json())


def test_a_minor_is_not_offered_and_cannot_give_a_purpose_not_for_minors():
    today = timezone.localdate()
    child = ProfileFactory(birth_date=today.replace(year=today.year - 12)).user
    PurposeFactory(key="ads", offered_to_minors=False)
    client = Client()
    client.force_login(child)
    assert client.get("/api/v1/consent/purposes/").json() == []
    assert decide(client, "ads", "given").status_code == 404


def test_my_events_are_listed_newest_first(user_client, newsletter):
    decide(user_client, "newsletter", "given")
    decide(user_client, "newsletter", "withdrawn")
    body = user_client.get("/api/v1/consent/events/").json()
    assert [e["decision"] for e in body["results"]] == ["withdrawn", "given"]


def test_an_events_receipt_is_a_kantara_receipt_attachment(user_client, newsletter):
    event = decide(user_client, "newsletter", "given").json()["event"]
    response = user_client.get(event["receipt_url"])
    assert response["Content-Disposition"].startswith("attachment;")
    jsonschema.validate(response.json(), SCHEMA)


def test_another_users_receipt_is_404(user_client, newsletter):
    other = Client()
    other.force_login(UserFactory())
    event = decide(other, "newsletter", "given").json()["event"]
    assert user_client.get(event["receipt_url"]).status_code == 404


def test_the_consent_api_needs_a_signed_in_user(client, newsletter):
    assert client.get("/api/v1/consent/").status_code == 401
    assert decide(client, "newsletter", "given").status_code == 401
