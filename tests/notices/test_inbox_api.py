"""/api/v1/inbox/: one's own messages only, filters, actions, answers and e-mail preferences,
with every bad input answered 4xx with a message."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notices import services
from notices.models import Category
from tests.factories import UserFactory
from tests.notices.test_inbox import MessageFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/inbox/"


@pytest.fixture
def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    return [m["id"] for m in response.json()["results"]]


# --- Listing and reading -----------------------------------------------------------------------


def test_the_list_holds_only_ones_own_messages_newest_first(api, user):
    older = MessageFactory(user=user)
    newer = MessageFactory(user=user)
    MessageFactory()  # someone else's
    response = api.get(API)
    assert response.status_code == 200
    assert ids(response) == [newer.pk, older.pk]
    assert response.json()["count"] == 2


def test_the_list_needs_authentication():
    response = APIClient().get(API)
    assert response.status_code == 401


def test_the_unread_filter_lists_unread_or_read_messages(api, user):
    unread = MessageFactory(user=user)
    read = MessageFactory(user=user, read_at=timezone.now())
    assert ids(api.get(API, {"unread": "true"})) == [unread.pk]
    assert ids(api.get(API, {"unread": "false"})) == [read.pk]


def test_archived_messages_are_listed_apart(api, user):
    kept = MessageFactory(user=user)
    archived = MessageFactory(user=user, archived_at=timezone.now(), read_at=timezone.now())
    assert ids(api.get(API)) == [kept.pk]
    assert ids(api.get(API, {"archived": "true"})) == [archived.pk]


def test_the_category_filter_lists_only_that_category(api, user):
    MessageFactory(user=user, category=Category.POLICY_CHANGES)
    wanted = MessageFactory(user=user, category=Category.ACCOUNT_SECURITY)
    assert ids(api.get(API, {"category": "account_security"})) == [wanted.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"category": "marketing"}, "category"), ({"unread": "perhaps"}, "unread")],
)
def test_a_bad_filter_is_refused_with_a_message(api, params, field):
    response = api.get(API, params)
    assert response.status_code == 400
    assert response.json()[field]


def test_one_message_is_read_without_marking_it_read(api, user):
    message = MessageFactory(user=user, title="Hello there")
    response = api.get(f"{API}{message.pk}/")
    message.refresh_from_db()
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["is_read"]) == ("Hello there", False)
    assert not message.is_read


@pytest.mark.parametrize("suffix", ["", "read/", "unread/", "archive/", "unarchive/", "respond/"])
def test_another_users_message_is_not_found_and_unchanged(api, suffix):
    theirs = MessageFactory(requires_response=True)
    url = f"{API}{theirs.pk}/{suffix}"
    response = api.post(url, {"response": "accepted"}, format="json") if suffix else api.get(url)
    theirs.refresh_from_db()
    assert response.status_code == 404
    assert response.json()["detail"] == "No such message of yours."
    assert (theirs.read_at, theirs.archived_at, theirs.response) == (None, None, "")


@pytest.mark.parametrize("suffix", ["", "read/"])
def test_an_id_beyond_the_database_range_is_not_found(api, suffix):
    url = f"{API}{2**64}/{suffix}"
    response = api.post(url) if suffix else api.get(url)
    assert response.status_code == 404


# --- Actions -----------------------------------------------------------------------------------


def test_read_and_unread_mark_a_message(api, user):
    message = MessageFactory(user=user)
    read = api.post(f"{API}{message.pk}/read/")
    unread = api.post(f"{API}{message.pk}/unread/")
    assert (read.status_code, read.json()["is_read"]) == (200, True)
    assert (unread.status_code, unread.json()["is_read"]) == (200, False)


def test_archive_and_unarchive_move_a_message(api, user):
    message = MessageFactory(user=user)
    archived = api.post(f"{API}{message.pk}/archive/").json()
    assert (archived["is_archived"], archived["is_read"]) == (True, True)
    assert ids(api.get(API)) == []
    api.post(f"{API}{message.pk}/unarchive/")
    assert ids(api.get(API)) == [message.pk]


def test_read_all_marks_every_unread_message_of_ones_own(api, user):
    MessageFactory.create_batch(2, user=user)
    theirs = MessageFactory()
    response = api.post(f"{API}read-all/")
    theirs.refresh_from_db()
    assert response.json() == {"marked": 2}
    assert services.inbox_counts(user).unread == 0
    assert not theirs.is_read


# --- Answering ---------------------------------------------------------------------------------


def test_an_answer_is_recorded_once(api, user):
    message = MessageFactory(user=user, requires_response=True)
    first = api.post(f"{API}{message.pk}/respond/", {"response": "accepted"}, format="json")
    again = api.post(f"{API}{message.pk}/respond/", {"response": "objected"}, format="json")
    assert first.status_code == 200
    assert (first.json()["response"], first.json()["is_read"]) == ("accepted", True)
    assert first.json()["responded_at"]
    assert again.status_code == 409  # well formed, but the notice's state refuses it
    assert again.json()["detail"] == ["You have already answered this notice."]


@pytest.mark.parametrize("body", [{"response": "maybe"}, {}, {"response": None}])
def test_a_bad_answer_is_refused_with_a_message(api, user, body):
    message = MessageFactory(user=user, requires_response=True)
    response = api.post(f"{API}{message.pk}/respond/", body, format="json")
    message.refresh_from_db()
    assert response.status_code == 400
    assert response.json()["response"]
    assert message.response == ""


def test_a_notice_that_asks_nothing_cannot_be_answered(api, user):
    message = MessageFactory(user=user)
    response = api.post(f"{API}{message.pk}/respond/", {"response": "accepted"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == ["This notice does not ask for an answer."]


# --- Preferences -------------------------------------------------------------------------------


def test_the_preferences_list_every_category_and_which_are_mandatory(api):
    body = api.get(f"{API}preferences/").json()
    assert [p["category"] for p in body] == Category.values
    assert {p["category"] for p in body if p["mandatory"]} == {
        "security_incidents",
        "request_updates",
    }
    assert all(p["email"] for p in body)


def test_a_category_can_be_switched_off(api, user):
    response = api.patch(f"{API}preferences/", {"policy_changes": False}, format="json")
    assert response.status_code == 200
    assert {p["category"]: p["email"] for p in response.json()}["policy_changes"] is False
    assert not services.email_wanted(user, Category.POLICY_CHANGES)


def test_switching_off_a_mandatory_category_is_refused_and_changes_nothing(api, user):
    response = api.patch(
        f"{API}preferences/",
        {"policy_changes": False, "security_incidents": False},
        format="json",
    )
    assert response.status_code == 400
    assert "cannot be switched off" in response.json()["detail"][0]
    assert not user.notice_preferences.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"marketing": False}, {"policy_changes": "sometimes"}, ["policy_changes"]],
)
def test_bad_preferences_are_refused_with_a_message(api, user, body):
    response = api.patch(f"{API}preferences/", body, format="json")
    assert response.status_code == 400
    assert response.json()
    assert not user.notice_preferences.exists()


def test_preferences_are_ones_own(api, user):
    other = UserFactory()
    api.patch(f"{API}preferences/", {"service_notices": False}, format="json")
    assert services.email_wanted(other, Category.SERVICE_NOTICES)
    assert not services.email_wanted(user, Category.SERVICE_NOTICES)
