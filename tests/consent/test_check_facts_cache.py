"""The consent check reads what it knows of a user besides the ledger (account open, age,
restriction, guardianship) from the cache once warm, and never answers from a stale copy: every
way those facts change is seen by the very next check, with the cache warm."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from accounts.models import User
from consent import ledger, selectors, services
from consent.models import Method
from guardianship.models import MinorAccount
from requests_dsar import services as dsar_services
from tests.factories import PrivacyOfficerFactory, ProfileFactory, PurposeFactory, StaffFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/consent/check"
TODAY = timezone.localdate()


@pytest.fixture
def service():
    _token, secret = services.service_token_create(
        name="mailer", scopes=["consent:check"], actor=StaffFactory()
    )
    return Client(headers={"Authorization": f"Service {secret}"})


@pytest.fixture
def adult():
    return ProfileFactory(birth_date=TODAY.replace(year=TODAY.year - 30), region="DE").user


@pytest.fixture
def ads(adult):
    purpose = PurposeFactory(key="ads", offered_to_minors=False)
    services.consent_give(user=adult, purpose=purpose, method=Method.API, actor=adult)
    return purpose


def allowed(service, user, purpose="ads"):
    response = service.get(URL, {"user": user.pk, "purpose": purpose})
    assert response.status_code == 200
    return response.json()["allowed"]


@pytest.fixture
def warm(service, adult, ads):
    """The first check fills the cache; the next one is answered without a query."""
    assert allowed(service, adult)
    with CaptureQueriesContext(connection) as queries:
        assert allowed(service, adult)
    assert len(queries) == 0


def test_a_warm_check_costs_no_query(service, adult, ads):
    assert allowed(service, adult)  # the first check fills the cache
    with CaptureQueriesContext(connection) as queries:
        assert allowed(service, adult)
    assert len(queries) == 0


def test_a_birth_date_corrected_to_a_minors_is_seen_by_the_next_check(service, adult, warm):
    account_services.profile_update(
        user=adult, actor=adult, data={"birth_date": TODAY.replace(year=TODAY.year - 15)}
    )
    assert not allowed(service, adult)


def test_an_account_locked_by_staff_is_closed_for_the_next_check(service, adult, warm):
    adult.is_active = False
    adult.save(update_fields=["is_active"])
    assert not allowed(service, adult)


def test_a_guardianship_started_for_the_user_is_seen_by_the_next_check(service, adult, warm):
    MinorAccount.objects.create(
        user=adult,
        reason=MinorAccount.Reason.STAFF,
        age_threshold=16,
        adult_on=TODAY + datetime.timedelta(days=400),
    )
    assert not allowed(service, adult)


def test_a_fulfilled_restriction_request_is_seen_by_the_next_check(service, adult, warm):
    request, _created = dsar_services.dsar_request_create(
        subject=adult, requester=adult, type="restrict", reauthenticated=True
    )
    dsar_services.dsar_process(request_id=request.pk)
    assert not allowed(service, adult)


def test_an_erased_account_is_closed_for_the_next_check(service, adult, warm):
    request, _created = dsar_services.dsar_request_create(
        subject=adult, requester=adult, type="delete", reauthenticated=True
    )
    request.__class__.objects.filter(pk=request.pk).update(act_after=None)
    dsar_services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    if request.status == "awaiting_approval":  # what the law makes us keep: an officer approves
        dsar_services.dsar_approve(request=request, actor=PrivacyOfficerFactory())
        dsar_services.dsar_process(request_id=request.pk)
        request.refresh_from_db()
    assert request.status == "completed"
    assert not allowed(service, adult)


def test_a_bulk_change_to_every_account_is_seen_by_the_next_check(service, adult, warm):
    # As the end of the service does: every account closed in one statement.
    User.objects.update(is_active=False)
    ledger.every_subject_changed()
    assert not allowed(service, adult)


def test_facts_a_slow_reader_cached_before_a_change_are_never_used(service, adult, warm):
    subject_key = ledger.user_subject_key(adult.pk)
    stale = cache.get(ledger.facts_cache_key(subject_key))
    adult.is_active = False
    adult.save(update_fields=["is_active"])
    # A reader that read the row before the change stores it only now.
    cache.set(ledger.facts_cache_key(subject_key), stale)
    assert not allowed(service, adult)


def test_every_fact_the_check_reads_is_changed_through_a_save_or_calls_facts_changed():
    # The facts come from these models only: a new one would need its own invalidation.
    models = {field.split("__")[0] for field in selectors.fact_fields() if "__" in field}
    assert models == {"profile", "minor_account"}
