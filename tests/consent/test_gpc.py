"""Global Privacy Control: `Sec-GPC: 1` refuses the purposes it covers, recorded once per subject
and purpose; an explicit opt-in after it wins and stays; `/.well-known/gpc.json`."""

from __future__ import annotations

import datetime
import json

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from consent import cookies, gpc, ledger
from consent.models import ConsentEvent, Decision, Method
from consent.services import consent_give
from tests.factories import DEFAULT_PASSWORD, PurposeFactory

pytestmark = pytest.mark.django_db

GPC = {"Sec-GPC": "1"}


@pytest.fixture
def advertising():
    return PurposeFactory(key="advertising", cookie_category="advertising", refused_by_gpc=True)


@pytest.fixture
def sale():
    """Refused by the signal, not decided on the banner."""
    return PurposeFactory(key="sale-to-partners", refused_by_gpc=True)


@pytest.fixture
def analytics():
    """Not covered by the signal."""
    return PurposeFactory(key="analytics", cookie_category="analytics")


@pytest.fixture
def purposes(advertising, sale, analytics):
    return [advertising, sale, analytics]


def user_events(user):
    return ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(user.pk))


def visitor_events(client: Client):
    visitor_id = cookies.visitor_id_from_cookie(client.cookies[cookies.VISITOR_COOKIE].value)
    assert visitor_id is not None
    return ConsentEvent.objects.filter(subject_key=ledger.visitor_subject_key(visitor_id))


@pytest.mark.parametrize(
    ("headers", "in_force"),
    [({"Sec-GPC": "1"}, True), ({"Sec-GPC": "0"}, False), ({"Sec-GPC": "yes"}, False), ({}, False)],
)
def test_the_signal_is_sec_gpc_1_exactly(headers, in_force):
    assert gpc.gpc_in_force(RequestFactory().get("/", headers=headers)) is in_force


def test_well_known_gpc_json(client):
    response = client.get("/.well-known/gpc.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body == {"gpc": True, "lastUpdate": body["lastUpdate"]}
    datetime.date.fromisoformat(body["lastUpdate"])
    assert client.head("/.well-known/gpc.json").status_code == 200


def test_the_signal_refuses_its_purposes_once_for_a_signed_in_user(user_client, user, purposes):
    for _ in range(3):
        user_client.get("/dashboard/", headers=GPC)

    events = user_events(user)
    assert sorted(events.values_list("purpose__key", "decision", "method")) == [
        ("advertising", Decision.REFUSED, Method.GPC_SIGNAL),
        ("sale-to-partners", Decision.REFUSED, Method.GPC_SIGNAL),
    ]
    assert set(events.values_list("actor", flat=True)) == {"self"}


def test_without_the_signal_nothing_is_recorded(user_client, user, purposes):
    user_client.get("/dashboard/")

    assert not user_events(user).exists()


def test_the_signal_withdraws_a_consent_given_before_it(user_client, user, advertising):
    consent_give(user=user, purpose=advertising, method=Method.CONSENT_CENTER, actor=user)

    user_client.get("/dashboard/", headers=GPC)

    latest = user_events(user).last()
    assert (latest.decision, latest.method) == (Decision.WITHDRAWN, Method.GPC_SIGNAL)
    assert not ledger.is_allowed(ledger.user_subject_key(user.pk), advertising).allowed


def test_an_explicit_opt_in_after_the_signal_wins_and_stays(user_client, user, advertising):
    user_client.get("/dashboard/", headers=GPC)  # the signal's refusal is recorded

    consent_give(user=user, purpose=advertising, method=Method.CONSENT_CENTER, actor=user)
    for _ in range(3):
        user_client.get("/dashboard/", headers=GPC)

    assert list(user_events(user).values_list("decision", "method")) == [
        (Decision.REFUSED, Method.GPC_SIGNAL),
        (Decision.GIVEN, Method.CONSENT_CENTER),
    ]
    assert ledger.is_allowed(ledger.user_subject_key(user.pk), advertising).allowed


def test_an_opt_in_on_the_banner_with_the_signal_on_wins_for_a_new_visitor(client, advertising):
    # A first visit: the banner's "Accept all" is the visitor's first request with an id.
    client.post("/privacy/cookies/", {"choice": "accept_all"}, headers=GPC)
    client.get("/", headers=GPC)

    assert list(visitor_events(client).values_list("decision", "method")) == [
        (Decision.REFUSED, Method.GPC_SIGNAL),
        (Decision.GIVEN, Method.COOKIE_BANNER),
    ]
    assert cookies.consent_allows(client.get("/", headers=GPC).wsgi_request, "advertising")


def test_an_anonymous_request_without_a_visitor_id_is_not_given_one(client, purposes):
    response = client.get("/", headers=GPC)

    assert cookies.VISITOR_COOKIE not in response.cookies
    assert not ConsentEvent.objects.exists()
    assert not cookies.consent_allows(response.wsgi_request, "advertising")


def test_the_signal_refuses_once_for_a_visitor_with_an_id(client, purposes):
    client.post("/privacy/cookies/", {"choice": "save", "categories": ["analytics"]})

    for _ in range(3):
        client.get("/", headers=GPC)

    gpc_events = visitor_events(client).filter(method=Method.GPC_SIGNAL)
    assert sorted(gpc_events.values_list("purpose__key", flat=True)) == ["sale-to-partners"]


def test_a_steady_state_request_with_the_signal_costs_no_query(
    user_client, user, purposes, django_assert_num_queries
):
    user_client.get("/dashboard/", headers=GPC)
    subject = cookies.user_subject(user)

    with django_assert_num_queries(0):
        assert gpc.gpc_signal_apply(subject=subject) == []


def test_pages_say_the_signal_is_in_force(client, purposes):
    page = client.get("/privacy/cookies/", headers=GPC).content.decode()
    banner = client.get("/", headers=GPC).content.decode()

    assert "Global Privacy Control signal is in force" in page
    assert "signal is in force: we treat it as your refusal of advertising." in banner
    assert (
        "Global Privacy Control signal is in force"
        not in client.get("/privacy/cookies/").content.decode()
    )


def test_pages_vary_on_the_signal(client, purposes):
    assert "Sec-GPC" in client.get("/privacy/cookies/")["Vary"]


def test_an_opt_in_made_over_the_signal_before_signing_in_still_wins_after(
    client, user, advertising
):
    client.post("/privacy/cookies/", {"choice": "accept_all"}, headers=GPC)
    client.post(
        reverse("account_login"),
        {"login": user.email, "password": DEFAULT_PASSWORD},
        headers=GPC,
    )

    for _ in range(2):
        client.get("/dashboard/", headers=GPC)

    assert list(user_events(user).values_list("decision", "method")) == [
        (Decision.REFUSED, Method.GPC_SIGNAL),
        (Decision.GIVEN, Method.COOKIE_BANNER),
    ]
    assert ledger.is_allowed(ledger.user_subject_key(user.pk), advertising).allowed


def test_a_refusal_by_the_signal_alone_is_not_merged_at_sign_in(client, user, purposes):
    client.post("/privacy/cookies/", {"choice": "reject_all"})
    client.get("/", headers=GPC)  # refuses "sale-to-partners" for the visitor
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})

    assert sorted(user_events(user).values_list("purpose__key", "method")) == [
        ("advertising", Method.COOKIE_BANNER),
        ("analytics", Method.COOKIE_BANNER),
    ]
