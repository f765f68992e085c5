"""/api/v1/guardian/minors/...: the minors in one's care only, their data, consents on their
behalf, and copy or deletion requests confirmed like one's own requests through the API."""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services
from consent import ledger
from consent.models import ConsentEvent
from guardianship.models import Guardianship
from requests_dsar import services as dsar_services
from requests_dsar.models import DataSubjectRequest, Status
from tests.factories import (
    LoginEventFactory,
    ProfileFactory,
    PurposeFactory,
    ThirdPartyFactory,
    UserFactory,
)
from tests.guardianship.dashboard_helpers import make_guardianship, set_profile, views_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/guardian/minors/"
# Every endpoint about one minor: (method, path under the minor, JSON body, audited section).
ENDPOINTS = [
    ("get", "", None, "profile"),
    ("get", "consents/", None, "consents"),
    ("post", "consents/", {"purpose": "newsletter", "decision": "given"}, None),
    ("get", "requests/", None, "requests"),
    ("post", "requests/", {"type": "copy"}, None),
]


def api_for(user) -> Client:
    _row, secret = services.api_token_create(user=user, name="test", lifetime=None)
    return Client(headers={"Authorization": f"Bearer {secret}"})


def call(client, method, path, body):
    if method == "get":
        return client.get(path)
    return client.post(path, body, content_type="application/json")


@pytest.fixture
def guardianship():
    return make_guardianship()


@pytest.fixture
def guardian(guardianship):
    return guardianship.guardian


@pytest.fixture
def minor(guardianship):
    return guardianship.minor


@pytest.fixture
def api(guardian):
    return api_for(guardian)


@pytest.fixture
def newsletter():
    return PurposeFactory(key="newsletter", name="Newsletter", offered_to_minors=True)


# --- Who can be reached ------------------------------------------------------------------------


OUT_OF_REACH = {
    "another guardian's minor": lambda guardian: make_guardianship().minor,
    "an adult": lambda guardian: ProfileFactory(user=UserFactory()).user,
    "a revoked guardianship": lambda guardian: (
        make_guardianship(guardian=guardian, status=Guardianship.Status.REVOKED).minor
    ),
}


@pytest.mark.parametrize("who", OUT_OF_REACH)
@pytest.mark.parametrize(("method", "sub", "body", "section"), ENDPOINTS)
def test_a_guardian_gets_404_for_anyone_not_in_their_care(
    api, guardian, newsletter, who, method, sub, body, section
):
    other = OUT_OF_REACH[who](guardian)
    response = call(api, method, f"{BASE}{other.pk}/{sub}", body)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such minor in your care."}
    assert views_of(guardian, other) == []


def test_the_list_holds_only_the_minors_in_ones_care(api, guardian, minor):
    make_guardianship()
    make_guardianship(guardian=guardian, status=Guardianship.Status.ENDED)
    body = api.get(BASE).json()
    assert [m["id"] for m in body["results"]] == [minor.pk]


def test_someone_with_no_minor_gets_an_empty_list():
    assert api_for(UserFactory()).get(BASE).json()["results"] == []


def test_anonymous_calls_are_refused(minor):
    assert Client().get(f"{BASE}{minor.pk}/").status_code == 401


# --- A minor's data ----------------------------------------------------------------------------


def test_the_minors_data_holds_their_profile_and_recent_sign_ins(api, minor):
    set_profile(minor, nickname="alex")
    LoginEventFactory(user=minor, browser="Firefox 128.0")
    body = api.get(f"{BASE}{minor.pk}/").json()
    assert (body["id"], body["email"], body["profile"]["nickname"]) == (
        minor.pk,
        minor.email,
        "alex",
    )
    assert body["recent_logins"][0]["browser"] == "Firefox 128.0"


@pytest.mark.parametrize(("method", "sub", "body", "section"), [e for e in ENDPOINTS if e[3]])
def test_every_read_of_a_minors_data_is_audited(api, guardian, minor, method, sub, body, section):
    assert call(api, method, f"{BASE}{minor.pk}/{sub}", body).status_code == 200
    assert views_of(guardian, minor) == [section]


def test_listing_the_minors_audits_a_summary_look_at_each(api, guardian, minor):
    api.get(BASE)
    assert views_of(guardian, minor) == ["summary"]


# --- Consents ----------------------------------------------------------------------------------


def test_consents_list_never_holds_a_purpose_not_offered_to_minors(api, minor, newsletter):
    PurposeFactory(key="ads", offered_to_minors=False)
    keys = [s["purpose"] for s in api.get(f"{BASE}{minor.pk}/consents/").json()]
    assert keys == ["newsletter"]


def test_a_consent_given_through_the_api_is_a_ledger_event_with_actor_guardian(
    api, guardian, minor, newsletter
):
    response = api.post(
        f"{BASE}{minor.pk}/consents/",
        {"purpose": "newsletter", "decision": "given"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert (response.json()["event"]["actor"], response.json()["state"]["allowed"]) == (
        "guardian",
        True,
    )
    event = ConsentEvent.objects.get(subject_key=ledger.user_subject_key(minor.pk))
    assert (event.actor, event.actor_user_id, event.method) == ("guardian", guardian.pk, "guardian")


def test_the_same_decision_twice_changes_nothing(api, minor, newsletter):
    body = {"purpose": "newsletter", "decision": "given"}
    api.post(f"{BASE}{minor.pk}/consents/", body, content_type="application/json")
    again = api.post(f"{BASE}{minor.pk}/consents/", body, content_type="application/json")
    assert (again.status_code, again.json()["event"]) == (200, None)


def test_a_purpose_not_offered_to_minors_is_refused_with_a_message(api, minor):
    PurposeFactory(key="ads", offered_to_minors=False)
    response = api.post(
        f"{BASE}{minor.pk}/consents/",
        {"purpose": "ads", "decision": "given"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "ads" in response.json()["purpose"][0]
    assert not ConsentEvent.objects.exists()


# --- Requests ----------------------------------------------------------------------------------


def code_mail():
    return next(m for m in mail.outbox if "verification code" in m.subject)


def file_copy(api, minor, capture, type="copy"):
    with capture(execute=True):
        return api.post(
            f"{BASE}{minor.pk}/requests/", {"type": type}, content_type="application/json"
        )


def test_a_request_filed_through_the_api_starts_unverified_and_a_code_confirms_it(
    api, guardian, minor, django_capture_on_commit_callbacks
):
    response = file_copy(api, minor, django_capture_on_commit_callbacks)
    assert (response.status_code, response.json()["status"]) == (201, "identity_unverified")
    filed = DataSubjectRequest.objects.get()
    assert (filed.subject, filed.requester) == (minor, guardian)
    code = re.search(r"\b(\d{6})\b", code_mail().body).group(1)
    confirmed = api.post(
        f"/api/v1/requests/{filed.public_id}/verify/",
        {"code": code},
        content_type="application/json",
    )
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, Status.PENDING)


def test_the_code_for_a_guardians_request_goes_to_the_guardian_not_the_minor(
    api, guardian, minor, django_capture_on_commit_callbacks
):
    file_copy(api, minor, django_capture_on_commit_callbacks, type="delete")
    assert code_mail().to == [guardian.email]


@pytest.mark.parametrize("kind", ["access", "correct", "question", "", 7])
def test_a_guardian_can_file_only_a_copy_or_a_deletion(api, minor, kind):
    response = api.post(
        f"{BASE}{minor.pk}/requests/", {"type": kind}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "type" in response.json()


def test_the_requests_list_holds_only_those_filed_for_this_minor_by_this_guardian(
    api, guardian, minor
):

    mine, _ = dsar_services.dsar_request_create(subject=minor, requester=guardian, type="copy")
    dsar_services.dsar_request_create(subject=minor, requester=minor, type="question", details="?")
    body = api.get(f"{BASE}{minor.pk}/requests/").json()
    assert [r["public_id"] for r in body["results"]] == [str(mine.public_id)]


def test_a_request_the_minor_already_opened_is_not_shown_to_the_guardian(api, minor):

    dsar_services.dsar_request_create(
        subject=minor, requester=minor, type="copy", details="my own words"
    )
    response = api.post(
        f"{BASE}{minor.pk}/requests/", {"type": "copy"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "my own words" not in response.content.decode()


def test_sharing_with_third_parties_needs_more_than_an_email_verified_guardian(api, minor):

    shared = PurposeFactory(key="partners", offered_to_minors=True)
    shared.third_parties.add(ThirdPartyFactory(key="partner"))
    response = api.post(
        f"{BASE}{minor.pk}/consents/",
        {"purpose": "partners", "decision": "given"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "third parties" in str(response.json())
    assert not ConsentEvent.objects.exists()


@pytest.mark.parametrize("minor_id", [2**63, 2**80])
def test_an_id_past_the_databases_integers_is_404_not_an_error(api, minor_id):
    assert api.get(f"{BASE}{minor_id}/").status_code == 404


# --- The published schema, with real answers -----------------------------------------------------
# tests/test_api_schema.py fuzzes every operation for a user with no minor (404s); here the
# answers about a real minor in one's care are checked against the same schema.

SCHEMA_CASES = [
    ("/api/v1/guardian/minors/", "GET", None),
    ("/api/v1/guardian/minors/{minor_id}/", "GET", None),
    ("/api/v1/guardian/minors/{minor_id}/consents/", "GET", None),
    (
        "/api/v1/guardian/minors/{minor_id}/consents/",
        "POST",
        {"purpose": "newsletter", "decision": "given"},
    ),
    ("/api/v1/guardian/minors/{minor_id}/requests/", "GET", None),
    ("/api/v1/guardian/minors/{minor_id}/requests/", "POST", {"type": "copy"}),
]


# Loaded at collection time, as in tests/test_api_schema.py.
PUBLISHED_SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.fixture
def _keep_db_connection():
    """As django.test.Client does: a request must not close the test's transaction's connection."""

    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.parametrize(("path", "method", "body"), SCHEMA_CASES)
@pytest.mark.usefixtures("_keep_db_connection")
def test_answers_about_a_real_minor_conform_to_the_published_schema(
    guardian, minor, newsletter, path, method, body
):

    set_profile(minor, nickname="alex")
    LoginEventFactory(user=minor)
    dsar_services.dsar_request_create(subject=minor, requester=guardian, type="delete")
    _row, secret = services.api_token_create(user=guardian, name="schema", lifetime=None)
    extra = {"body": body, "media_type": "application/json"} if body is not None else {}
    case = PUBLISHED_SCHEMA[path][method].Case(
        path_parameters={"minor_id": minor.pk} if "{minor_id}" in path else {},
        headers={"Authorization": f"Bearer {secret}"},
        **extra,
    )
    response = case.call()
    assert response.status_code in (200, 201)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
