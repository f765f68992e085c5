"""/api/v1/me/...: one's own account through session or personal token; bad input is a 4xx."""

import datetime

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Profile
from tests.factories import LoginEventFactory, ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(user):
    _row, secret = services.api_token_create(user=user, name="test", lifetime=None)
    return secret


@pytest.fixture
def api(token):
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_the_account_endpoint_answers_with_the_token_owner(api, user):
    body = api.get("/api/v1/me/").json()
    assert (body["id"], body["email"], body["mfa_enabled"]) == (user.pk, user.email, False)


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/v1/me/").status_code == 401


def test_an_expired_token_is_refused(user):
    row, secret = services.api_token_create(
        user=user, name="old", lifetime=datetime.timedelta(days=1)
    )
    row.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    row.save()
    response = Client(headers={"Authorization": f"Bearer {secret}"}).get("/api/v1/me/")
    assert response.status_code == 401


def test_a_revoked_token_is_refused(user, token):
    services.api_token_revoke(user=user, token_id=user.api_tokens.get().pk)
    response = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me/")
    assert response.status_code == 401


def test_tokens_are_stored_only_as_hashes(user, token):
    row = user.api_tokens.get()
    assert token not in (row.key_hash, row.prefix)


def test_the_profile_can_be_patched_and_cleared(api, user):
    ProfileFactory(user=user, nickname="before")
    response = api.patch(
        "/api/v1/me/profile/", {"nickname": "after", "bio": ""}, content_type="application/json"
    )
    assert response.status_code == 200
    assert Profile.objects.values_list("nickname", "bio").get(user=user) == ("after", "")


@pytest.mark.parametrize(
    "body",
    [
        {"gender": "wizard"},
        {"region": "ZZ"},
        {"birth_date": "2999-01-01"},
        {"birth_date": "1700-01-01"},
        {"nickname": "x" * 51},
        {"bio": "x" * 2001},
        {"birth_date": "yesterday"},
    ],
)
def test_invalid_profile_input_is_a_400_naming_the_field_and_changes_nothing(api, user, body):
    ProfileFactory(user=user, nickname="unchanged")
    before = Profile.objects.values().get(user=user)
    response = api.patch(
        "/api/v1/me/profile/",
        {**body, "occupation": "also not saved"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(body) <= set(response.json())
    assert Profile.objects.values().get(user=user) == before


def test_malformed_json_is_a_400(api):
    response = api.patch("/api/v1/me/profile/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_a_form_encoded_body_is_a_415(api):
    response = api.patch(
        "/api/v1/me/profile/", "nickname=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_login_history_lists_only_ones_own_logins(api, user):
    mine = LoginEventFactory(user=user)
    LoginEventFactory()
    body = api.get("/api/v1/me/logins/").json()
    assert [row["id"] for row in body["results"]] == [mine.pk]


def make_session(user, key):
    return UserSession.objects.create(user=user, ip="192.0.2.1", session_key=key, user_agent="test")


def test_a_user_can_end_one_of_their_sessions(api, user):
    session = make_session(user, "k" * 32)
    assert api.delete(f"/api/v1/me/sessions/{session.pk}/").status_code == 204
    assert not UserSession.objects.filter(pk=session.pk).exists()


def test_another_users_session_cannot_be_ended(api):
    theirs = make_session(UserFactory(), "t" * 32)
    assert api.delete(f"/api/v1/me/sessions/{theirs.pk}/").status_code == 404
    assert UserSession.objects.filter(pk=theirs.pk).exists()


def test_the_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_where_the_docs_are_not_public_only_signed_in_people_read_them(client, api, settings):
    settings.API_DOCS_PUBLIC = False
    refused = client.get("/api/schema/")
    assert refused.status_code == 401
    assert "Sign in to read the API" in refused.content.decode()
    assert client.get("/api/docs/").status_code == 401
    assert api.get("/api/schema/").status_code == 200  # a personal token is enough
