"""The API does what its OpenAPI schema says, no more and no less: what the schema forbids is
refused with a message naming the field, what it allows is accepted, and the schema states the
limits, enums and links a client needs. Each case is one schemathesis found."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.models import OLDEST_PLAUSIBLE_AGE_YEARS, Profile, validate_birth_date
from core.api_docs import NON_BLANK_TEXT_PATTERN, TEXT_PATTERN, date_range_pattern
from core.registry import STAFF_CATEGORIES, registry
from notices.models import MANDATORY_CATEGORIES, Category, Preference
from requests_dsar.models import DataSubjectRequest, RequestType
from tests.factories import ProfileFactory
from tests.notices.test_inbox import MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user) -> Client:  # type: ignore[no-untyped-def]
    ProfileFactory(user=user, bio="Cartographer.", region="NL")
    _row, secret = account_services.api_token_create(user=user, name="test", lifetime=None)
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]


def resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The node, its `$ref` (or a lone `allOf` of one) followed, its own keys kept."""
    ref = node.get("$ref") or (node.get("allOf") or [{}])[0].get("$ref")
    if not ref:
        return node
    rest = {k: v for k, v in node.items() if k not in ("$ref", "allOf")}
    return {**resolved(schema, component(schema, ref.rsplit("/", 1)[1])), **rest}


def operation(schema: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for methods in schema["paths"].values():
        for candidate in methods.values():
            if isinstance(candidate, dict) and candidate.get("operationId") == operation_id:
                return candidate
    raise AssertionError(f"no operation {operation_id}")


# --- Types: a string only as a string, a boolean only as true or false -----------------------


@pytest.mark.parametrize(
    "body",
    [{"bio": 0}, {"name": ["x"]}, {"region": {}}, {"region": 49}, {"nickname": True}],
)
def test_a_profile_field_of_the_wrong_json_type_is_refused_and_nothing_changes(api, user, body):
    response = api.patch("/api/v1/me/profile/", body, content_type="application/json")

    assert response.status_code == 400
    [field] = body
    assert response.json()[field] == ["Give text here, in quotes: not a number, list or object."]
    profile = Profile.objects.get(user=user)
    assert (profile.bio, profile.region.code) == ("Cartographer.", "NL")


@pytest.mark.parametrize("value", [0, 1, "false", None])
def test_a_preference_is_true_or_false_and_nothing_else(api, user, value):
    response = api.patch(
        "/api/v1/inbox/preferences/", {"policy_changes": value}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "policy_changes" in response.json()
    assert not Preference.objects.filter(user=user).exists()


# --- What the schema states ------------------------------------------------------------------


def test_the_mandatory_notice_categories_can_only_be_named_as_true(schema):
    update = component(schema, "PatchedPreferencesUpdateRequest")
    for category in Category.values:
        expected = {"enum": [True]} if category in MANDATORY_CATEGORIES else {}
        prop = resolved(schema, update["properties"][category])
        assert prop["type"] == "boolean"
        assert {k: v for k, v in prop.items() if k == "enum"} == expected
    # At least one category, and nothing but categories: the server refuses anything else.
    assert (update["minProperties"], update["additionalProperties"]) == (1, False)


def test_the_scope_names_the_categories_a_person_may_choose(schema, api):
    items = component(schema, "CategoriesScopeRequest")["properties"]["categories"]["items"]
    categories = resolved(schema, items)
    offered = [key for key, _label in registry.requestable_categories()]
    assert sorted(categories["enum"]) == sorted(offered)
    assert not STAFF_CATEGORIES & set(categories["enum"])
    # A deletion's list leaves out the account: it goes only with everything.
    items = component(schema, "DeletionScopeRequest")["properties"]["categories"]["items"]
    assert sorted(resolved(schema, items)["enum"]) == sorted(set(offered) - {"account"})
    # The server holds to the same list.
    response = api.post(
        "/api/v1/requests/",
        {"type": "copy", "scope": {"categories": ["staff_actions"]}},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_requestable_categories_are_sorted_by_their_label():
    labels = [str(label).casefold() for _key, label in registry.requestable_categories()]
    assert labels == sorted(labels)


def test_the_birth_date_range_in_the_schema_is_exactly_the_one_the_server_accepts(schema):
    pattern = component(schema, "PatchedProfileRequest")["properties"]["birth_date"]["pattern"]
    today = timezone.localdate()
    day = datetime.date(today.year - OLDEST_PLAUSIBLE_AGE_YEARS - 1, 12, 1)
    while day <= today + datetime.timedelta(days=40):
        try:
            validate_birth_date(day)
            accepted = True
        except ValidationError:
            accepted = False
        assert bool(re.fullmatch(pattern.strip("^$"), day.isoformat())) == accepted, day
        day += datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("low", "high"),
    [("1999-12-31", "2000-01-01"), ("2026-02-28", "2026-03-01"), ("1901-01-01", "2026-12-07")],
)
def test_a_date_range_pattern_matches_the_range_and_nothing_else(low, high):
    lo, hi = datetime.date.fromisoformat(low), datetime.date.fromisoformat(high)
    rx = re.compile(date_range_pattern(lo, hi))
    day = lo - datetime.timedelta(days=400)
    while day <= hi + datetime.timedelta(days=400):
        assert bool(rx.match(day.isoformat())) == (lo <= day <= hi), day
        day += datetime.timedelta(days=1)


def test_text_fields_say_they_refuse_the_nul_character_and_blank_text(schema, api):
    message = component(schema, "MessageRequest")["properties"]["body"]
    assert message["pattern"] == NON_BLANK_TEXT_PATTERN  # may not be blank
    bio = component(schema, "PatchedProfileRequest")["properties"]["bio"]
    assert bio["pattern"] == TEXT_PATTERN
    response = api.patch("/api/v1/me/profile/", {"bio": "a\x00b"}, content_type="application/json")
    assert response.status_code == 400
    assert not re.fullmatch(TEXT_PATTERN.strip("^$"), "a\x00b")


def test_a_paginated_list_documents_its_range_and_its_400(schema):
    logins = operation(schema, "me_logins_list")
    ranges = {p["name"]: p["schema"] for p in logins["parameters"] if p["in"] == "query"}
    assert (ranges["limit"]["minimum"], ranges["limit"]["maximum"]) == (1, 200)
    assert ranges["offset"]["minimum"] == 0
    assert "400" in logins["responses"]


# --- Links: from what was created or listed to what can be done with it ----------------------


def test_a_created_request_links_to_its_detail_code_messages_and_download(schema):
    links = operation(schema, "requests_create")["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert {
        "requests_retrieve",
        "requests_verify_create",
        "requests_messages_list",
        "requests_messages_create",
        "requests_download_retrieve",
    } <= targets
    assert links["Verify"]["parameters"] == {"public_id": "$response.body#/public_id"}


def test_consent_events_link_to_their_receipts(schema):
    for source, status_code in [("consent_events_list", "200"), ("consent_create", "201")]:
        links = operation(schema, source)["responses"][status_code]["links"]
        assert links["Receipt"]["operationId"] == "consent_events_receipt_retrieve"


def test_every_link_names_an_operation_and_its_path_parameters(schema):
    for methods in schema["paths"].values():
        for op in methods.values():
            if not isinstance(op, dict):
                continue
            for answer in op.get("responses", {}).values():
                for link in answer.get("links", {}).values():
                    target = operation(schema, link["operationId"])
                    names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                    assert set(link["parameters"]) == names, link


# --- State, not input: 409 -------------------------------------------------------------------


def test_answering_a_notice_that_asks_nothing_is_a_conflict_not_bad_input(api, user):
    message = MessageFactory(user=user)
    response = api.post(
        f"/api/v1/inbox/{message.pk}/respond/",
        {"response": "accepted"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["detail"] == ["This notice does not ask for an answer."]


def test_a_deletion_naming_the_account_among_its_categories_is_refused_as_the_schema_says(api):
    response = api.post(
        "/api/v1/requests/",
        {"type": "delete", "scope": {"categories": ["account", "profile"]}},
        content_type="application/json",
    )
    assert response.status_code == 400
    [message] = response.json()["scope"]["categories"]["0"]
    assert message.startswith('Not a category you can delete on its own: "account".')
    assert not DataSubjectRequest.objects.exists()


# --- A new request: one shape per kind, told apart by `type` ----------------------------------


def test_each_kind_of_request_has_its_own_shape_in_the_schema(schema):
    body = component(schema, "RequestCreateRequest")
    mapping = body["discriminator"]["mapping"]
    assert body["discriminator"]["propertyName"] == "type"
    assert set(mapping) == set(RequestType.values)
    question = component(schema, "QuestionCreateRequest")
    assert "details" in question["required"]
    assert question["properties"]["details"]["pattern"] == NON_BLANK_TEXT_PATTERN
    correction = component(schema, "CorrectionCreateRequest")
    assert "scope" in correction["required"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "question"}, "details"),
        ({"type": "complaint", "details": "   "}, "details"),
        ({"type": "correct"}, "scope"),
        ({"type": "correct", "scope": {"changes": []}}, "scope"),
        ({"type": "nonsense"}, "type"),
        ({"details": "no type"}, "type"),
    ],
)
def test_a_request_missing_what_its_kind_needs_is_refused_naming_it(api, body, field):
    response = api.post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"field": "birth_date", "value": "10/25/2006"},  # the profile form would take it
        {"field": "birth_date", "value": "1850-01-01"},
        {"field": "gender", "value": "unknown"},
        {"field": "region", "value": "Narnia"},
        {"field": "nickname", "value": "x" * 51},
        {"field": "other", "value": "  "},
    ],
)
def test_a_correction_value_is_checked_as_the_profile_api_checks_it(api, change):
    response = api.post(
        "/api/v1/requests/",
        {"type": "correct", "scope": {"changes": [change]}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_a_correction_may_clear_a_profile_field_with_an_empty_value(api):
    response = api.post(
        "/api/v1/requests/",
        {"type": "correct", "scope": {"changes": [{"field": "birth_date", "value": ""}]}},
        content_type="application/json",
    )
    assert response.status_code == 201


def test_a_field_listed_twice_in_one_correction_is_a_conflict(api):
    changes = [{"field": "bio", "value": "One."}, {"field": "bio", "value": "Two."}]
    response = api.post(
        "/api/v1/requests/",
        {"type": "correct", "scope": {"changes": changes}},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert not DataSubjectRequest.objects.exists()


def test_a_guardian_may_file_only_a_copy_or_a_deletion(schema):
    body = component(schema, "GuardianRequestCreateRequest")
    assert set(body["discriminator"]["mapping"]) == {"copy", "delete"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/requests/"), ("patch", "/api/v1/inbox/preferences/")],
)
def test_a_body_the_server_cannot_do_without_is_marked_required(schema, api, method, path):
    operations = schema["paths"][path]
    assert operations[method]["requestBody"]["required"] is True
    response = getattr(api, method)(path, content_type="application/json")  # no body at all
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["unread=", "unread=yes", "unread=1", "category="])
def test_a_query_parameter_given_without_a_proper_value_is_refused(api, query):
    """DRF takes `?category=` as absent and `?unread=1` as true; the schema says neither."""
    response = api.get(f"/api/v1/inbox/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_a_proper_boolean_query_parameter_is_taken(api):
    assert api.get("/api/v1/inbox/?unread=true&archived=false").status_code == 200
