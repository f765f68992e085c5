"""The consent check API: other services ask "may I process purpose P for user U now?" with a
scoped service token, and a withdrawal counts from the very next check."""

import datetime
from typing import cast

import pytest
import time_machine
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.views import APIView

from consent import cache_reads, ledger, selectors, services, throttling
from consent.models import Method, ServiceToken
from consent.serializers import CheckResultSerializer, check_result_data
from guardianship.models import MinorAccount
from tests.factories import (
    ProfileFactory,
    PurposeFactory,
    StaffFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/consent/check"


@pytest.fixture
def secret():
    _token, secret = services.service_token_create(
        name="mailer", scopes=["consent:check"], actor=StaffFactory()
    )
    return secret


@pytest.fixture
def service(secret):
    return Client(headers={"Authorization": f"Service {secret}"})


@pytest.fixture
def newsletter():
    return PurposeFactory(key="newsletter")


def check(client, user_id, purpose="newsletter"):
    return client.get(URL, {"user": user_id, "purpose": purpose})


def batch(client, users, purposes):
    return client.post(URL, {"users": users, "purposes": purposes}, content_type="application/json")


def give(user, purpose):
    return services.consent_give(user=user, purpose=purpose, method=Method.API, actor=user)


def withdraw(user, purpose):
    return services.consent_withdraw(user=user, purpose=purpose, method=Method.API, actor=user)


# --- Who may ask ----------------------------------------------------------------------------------


def test_without_a_token_the_check_is_401_naming_the_service_scheme(user, newsletter):
    response = check(Client(), user.pk)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, "Service")


def test_a_users_session_or_personal_token_is_not_a_service_token(user, user_client, newsletter):
    assert check(user_client, user.pk).status_code == 401


def test_an_unknown_token_is_401(user, newsletter):
    client = Client(headers={"Authorization": "Service svc_not-a-real-token"})
    assert check(client, user.pk).status_code == 401


def test_a_token_without_the_check_scope_is_403(user, newsletter):
    _token, secret = services.service_token_create(name="x", scopes=[], actor=StaffFactory())
    client = Client(headers={"Authorization": f"Service {secret}"})
    assert check(client, user.pk).status_code == 403


def test_a_revoked_token_is_refused_at_once(user, service, newsletter):
    assert check(service, user.pk).status_code == 200
    services.service_token_revoke(token=ServiceToken.objects.get(), actor=StaffFactory())
    assert check(service, user.pk).status_code == 401


def test_only_a_hash_of_the_token_is_stored(secret):
    token = ServiceToken.objects.get()
    assert secret not in str(token.__dict__)
    assert secret.startswith(token.prefix)


# --- The answer -----------------------------------------------------------------------------------


def test_withdrawal_is_seen_by_the_very_next_check_with_the_cache_in_place(
    user, service, newsletter
):
    give(user, newsletter)
    assert check(service, user.pk).json()["allowed"] is True
    assert cache.get(f"consent:state:{ledger.user_subject_key(user.pk)}") is not None
    withdraw(user, newsletter)
    assert check(service, user.pk).json()["allowed"] is False


def test_the_answer_names_the_legal_basis_and_the_event_it_rests_on(user, service, newsletter):
    event = give(user, newsletter)
    body = check(service, user.pk).json()
    assert (body["allowed"], body["legal_basis"], body["event"], body["decision"]) == (
        True,
        "consent",
        str(event.uuid),
        "given",
    )


def test_nothing_is_allowed_before_consent_is_given(user, service, newsletter):
    body = check(service, user.pk).json()
    assert (body["allowed"], body["event"], body["reason"]) == (
        False,
        None,
        "Consent never given.",
    )


def test_a_purpose_on_another_legal_basis_is_allowed_on_that_basis(user, service):
    PurposeFactory(key="billing", legal_basis="contract", is_optional=False)
    body = check(service, user.pk, "billing").json()
    assert (body["allowed"], body["legal_basis"]) == (True, "contract")


def test_an_unknown_user_is_404(service, newsletter):
    response = check(service, 987654)
    assert response.status_code == 404
    assert "No user with the id 987654" in response.json()["detail"]


def test_an_unknown_purpose_is_404_with_a_clear_message(user, service):
    response = check(service, user.pk, "no-such-purpose")
    assert response.status_code == 404
    assert "no-such-purpose" in response.json()["detail"]


@pytest.mark.parametrize(
    "query", [{}, {"user": "x", "purpose": "p"}, {"user": 2**64, "purpose": "p"}]
)
def test_a_missing_or_malformed_parameter_is_400(service, query):
    assert service.get(URL, query).status_code == 400


def test_a_minor_is_denied_a_purpose_not_offered_to_minors_whatever_the_ledger(service):
    today = timezone.localdate()
    profile = ProfileFactory(birth_date=today.replace(year=today.year - 30))
    purpose = PurposeFactory(key="ads", offered_to_minors=False)
    give(profile.user, purpose)
    profile.birth_date = today.replace(year=today.year - 16)  # corrected to a minor's
    profile.save()
    body = check(service, profile.user.pk, "ads").json()
    assert (body["allowed"], body["reason"]) == (False, "Not offered to minors.")


def test_a_restriction_request_denies_optional_purposes(user, service, newsletter):
    give(user, newsletter)
    ProfileFactory(user=user, optional_processing_stopped_at=timezone.now())
    assert check(service, user.pk).json()["allowed"] is False


# --- Batches --------------------------------------------------------------------------------------


def test_a_batch_answers_every_pair_and_lists_unknown_users(user, service, newsletter):
    other = UserFactory()
    give(user, newsletter)
    body = batch(service, [user.pk, other.pk, 987654], ["newsletter"]).json()
    assert [(r["user"], r["allowed"]) for r in body["results"]] == [
        (user.pk, True),
        (other.pk, False),
    ]
    assert body["unknown_users"] == [987654]


def test_a_batch_of_unknown_users_only_lists_them_all(service, newsletter):
    body = batch(service, [987654, 987655], ["newsletter"]).json()
    assert (body["results"], body["unknown_users"]) == ([], [987654, 987655])


def test_a_batch_of_more_than_1000_pairs_is_400(service, newsletter):
    PurposeFactory(key="ads")
    response = batch(service, list(range(1, 502)), ["newsletter", "ads"])
    assert response.status_code == 400
    assert "At most 1000" in str(response.json())


def test_a_batch_of_1000_pairs_is_answered(service, newsletter):
    assert batch(service, list(range(1, 1001)), ["newsletter"]).status_code == 200


def test_an_empty_batch_is_400(service):
    assert batch(service, [], ["newsletter"]).status_code == 400


def test_a_batch_with_an_unknown_purpose_is_404_naming_it(user, service, newsletter):
    """As the single check answers it: well formed, but no such purpose (schemathesis found the
    400 refusing a request the schema allows)."""
    response = batch(service, [user.pk], ["newsletter", "nope"])
    assert response.status_code == 404
    assert "nope" in str(response.json()["purposes"])


def test_a_batch_needs_a_service_token_too(user, user_client, newsletter):
    assert batch(user_client, [user.pk], ["newsletter"]).status_code == 401


# --- Tokens in admin ------------------------------------------------------------------------------


def test_staff_create_a_token_in_admin_and_see_its_secret_once():
    client = signed_in(StaffFactory())
    response = client.post(
        reverse("admin:consent_servicetoken_add"), {"name": "crm", "scopes": ["consent:check"]}
    )
    token = ServiceToken.objects.get(name="crm")
    secret = response.context["secret"]
    assert secret.startswith(token.prefix) and token.scopes == ["consent:check"]
    assert (
        secret
        not in client.get(
            reverse("admin:consent_servicetoken_change", args=[token.pk])
        ).content.decode()
    )


def test_staff_revoke_tokens_with_an_admin_action(secret):
    client = signed_in(StaffFactory())
    token = ServiceToken.objects.get()
    client.post(
        reverse("admin:consent_servicetoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.active is False


def test_seeing_the_token_list_is_not_enough_to_revoke_one(secret):
    from django.contrib.auth.models import Permission

    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_servicetoken"))
    client = signed_in(viewer)
    token = ServiceToken.objects.get()
    client.post(
        reverse("admin:consent_servicetoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.active is True
    with pytest.raises(PermissionDenied):
        services.service_token_revoke(token=token, actor=viewer)
    with pytest.raises(PermissionDenied):
        services.service_token_create(name="x", scopes=[], actor=viewer)


# --- What a check costs, and what stays true while it is cheap -----------------------------------


def test_a_check_costs_no_query_once_the_cache_is_warm(user, service, newsletter):
    give(user, newsletter)
    check(service, user.pk)  # fills the caches
    with CaptureQueriesContext(connection) as queries:
        assert check(service, user.pk).json()["allowed"] is True
    assert len(queries) == 0  # the user's facts too (tests/consent/test_check_facts_cache.py)


class CacheRoundTrips:
    """Counts calls to the cache, one per outermost call: a backend's `get_many` may be made of
    its own `get`s (in memory), while on Redis it is one round trip."""

    METHODS = ("get", "get_many", "set", "set_many", "add", "incr", "delete", "delete_many")

    def __init__(self, monkeypatch):
        self.count = 0
        self._depth = 0
        backend = caches[DEFAULT_CACHE_ALIAS]
        for name in self.METHODS:
            monkeypatch.setattr(backend, name, self._counted(getattr(backend, name)))
        # On Redis the check reads through its own client, not the backend's methods.
        monkeypatch.setattr(cache_reads, "get_many", self._counted(cache_reads.get_many))

    def _counted(self, method):
        def call(*args, **kwargs):
            if self._depth == 0:
                self.count += 1
            self._depth += 1
            try:
                return method(*args, **kwargs)
            finally:
                self._depth -= 1

        return call


@pytest.fixture
def many_users(newsletter):
    users = UserFactory.create_batch(20)
    for user in users[::2]:
        give(user, newsletter)
    return [u.pk for u in users]


def test_a_warm_batch_reads_every_users_state_in_one_cache_round_trip(
    monkeypatch, many_users, newsletter
):
    selectors.consent_check(many_users, [newsletter])  # fills the caches
    round_trips = CacheRoundTrips(monkeypatch)
    results = selectors.consent_check(many_users, [newsletter])
    assert round_trips.count == 1
    assert [r.allowed for r in results] == [True, False] * 10


def test_a_cold_batch_costs_the_same_whatever_the_number_of_users(
    monkeypatch, many_users, newsletter
):
    cache.clear()
    round_trips = CacheRoundTrips(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        results = selectors.consent_check(many_users, [newsletter])
    assert round_trips.count == 2  # read every projection, store the missing ones
    assert len(queries) == 2  # the users' facts, their ledger events
    assert [r.allowed for r in results] == [True, False] * 10


def test_the_direct_answer_is_what_the_serializer_would_give(user, newsletter):
    billing = PurposeFactory(key="billing", legal_basis="contract", is_optional=False)
    give(user, newsletter)
    results = selectors.consent_check([user.pk, UserFactory().pk], [newsletter, billing])
    assert [check_result_data(r) for r in results] == [
        CheckResultSerializer(r).data for r in results
    ]


def test_a_parameter_the_serializer_accepts_is_accepted_and_the_others_get_its_message(
    user, service, newsletter
):
    assert service.get(URL, {"user": f" {user.pk} ", "purpose": " newsletter "}).status_code == 200
    response = service.get(URL, {"user": "0", "purpose": "newsletter"})
    assert response.status_code == 400 and "user" in response.json()


def test_a_guardianship_in_force_denies_purposes_not_for_minors(user, service):
    purpose = PurposeFactory(key="ads", offered_to_minors=False)
    give(user, purpose)
    MinorAccount.objects.create(
        user=user,
        reason=MinorAccount.Reason.STAFF,
        age_threshold=16,
        adult_on=timezone.localdate() + datetime.timedelta(days=400),
    )
    body = check(service, user.pk, "ads").json()
    assert (body["allowed"], body["reason"]) == (False, "Not offered to minors.")


def test_a_deactivated_purpose_is_unknown_to_the_very_next_check(user, service, newsletter):
    assert check(service, user.pk).status_code == 200
    newsletter.active = False
    newsletter.save()
    assert check(service, user.pk).status_code == 404


def test_a_new_purpose_is_known_to_the_very_next_check(user, service, newsletter):
    assert check(service, user.pk).status_code == 200
    PurposeFactory(key="surveys")
    assert check(service, user.pk, "surveys").status_code == 200


def test_last_use_of_a_token_is_recorded_without_a_write_per_call(user, service, newsletter):
    check(service, user.pk)
    token = ServiceToken.objects.get()
    assert token.last_used_at is not None
    with CaptureQueriesContext(connection) as queries:
        check(service, user.pk)
    assert not [q for q in queries if "UPDATE" in q["sql"]]


# --- The rate limit ------------------------------------------------------------------------------


@pytest.fixture
def rate(settings):
    """Sets the check's rate limit; each test starts with no count in this process."""

    def set_rate(value: str) -> None:
        rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "consent_check": value}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    throttling.reset()
    yield set_rate
    throttling.reset()


def test_checks_past_the_rate_are_refused_with_a_retry_after(user, service, newsletter, rate):
    rate("3/min")
    assert [check(service, user.pk).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert 0 < int(check(service, user.pk)["Retry-After"]) <= 60


def test_the_rate_counts_the_calls_of_every_worker_process(user, service, newsletter, rate):
    rate("3/min")
    for _ in range(3):
        check(service, user.pk)
        throttling.reset()  # the next call as if served by another process
    assert check(service, user.pk).status_code == 429


def test_the_rate_allows_calls_again_once_the_minute_has_passed(user, service, newsletter, rate):
    rate("2/min")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            check(service, user.pk)
        assert check(service, user.pk).status_code == 429
        clock.shift(datetime.timedelta(minutes=2))
        assert check(service, user.pk).status_code == 200


class FakeRequest:
    def __init__(self, token: ServiceToken) -> None:
        self.auth, self.META = token, {"REMOTE_ADDR": "127.0.0.1"}


def allowed(throttle_requests: int, token: ServiceToken) -> int:
    throttle = throttling.ServiceTokenThrottle()
    request = cast(Request, FakeRequest(token))
    return sum(throttle.allow_request(request, APIView()) for _ in range(throttle_requests))


def test_a_large_rate_is_counted_in_batches_but_holds_in_one_process(secret, rate):
    rate("1000/min")
    token = ServiceToken.objects.get()
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        assert allowed(1100, token) == 1000


def test_processes_overshoot_a_large_rate_by_at_most_one_batch_each(secret, rate):
    rate("1000/min")
    token = ServiceToken.objects.get()
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        first = allowed(995, token)  # five requests short, the last batch not yet written
        pending = throttling._windows[f"consent_check:token-{token.pk}"].pending
        throttling._windows.clear()  # another process, which has not seen that batch
        second = allowed(100, token)
    assert first == 995 and first + second <= 1000 + pending
    assert pending < 10  # a batch is 1% of the rate
