"""The consent ledger and the disclosure log in admin: staff read them, nobody writes them there,
and every look at them is audited."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from consent import ledger, services
from consent.models import ConsentActor, ConsentEvent, Decision, Disclosure, Method
from core.admin_tools import VIEWED
from core.models import AuditLogEntry
from tests.factories import PurposeFactory, StaffFactory, ThirdPartyFactory, UserFactory
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db


def an_event(user=None):
    user = user or UserFactory()
    return services.consent_give(
        user=user, purpose=PurposeFactory(), method=Method.CONSENT_CENTER, actor=user
    )


def a_disclosure():
    return services.disclosure_record(
        user=UserFactory(),
        third_party=ThirdPartyFactory(),
        purpose=PurposeFactory(),
        data_categories=["2 - Contact"],
    )


ROWS = {"consentevent": an_event, "disclosure": a_disclosure}


@pytest.fixture
def staff_client():
    return signed_in(StaffFactory())


@pytest.mark.parametrize("model", [ConsentEvent, Disclosure])
def test_not_even_a_superuser_may_add_change_or_delete_ledger_rows_in_the_admin(model):
    request = RequestFactory().get("/")
    request.user = StaffFactory()
    model_admin = admin.site._registry[model]
    row = ROWS[model._meta.model_name]()
    assert model_admin.has_view_permission(request, row)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)


@pytest.mark.parametrize("name", ["consentevent", "disclosure"])
def test_the_admin_refuses_a_superusers_add_change_and_delete_posts(staff_client, name):
    row = ROWS[name]()
    model = type(row)
    urls = [
        reverse(f"admin:consent_{name}_add"),
        reverse(f"admin:consent_{name}_change", args=[row.pk]),
        reverse(f"admin:consent_{name}_delete", args=[row.pk]),
    ]
    assert [staff_client.post(url, {"post": "yes"}).status_code for url in urls] == [403] * 3
    assert model.objects.filter(pk=row.pk).exists()


def test_staff_see_the_ledger_without_bulk_actions(staff_client):
    event = an_event()
    page = staff_client.get(reverse("admin:consent_consentevent_changelist"))
    assert page.status_code == 200
    assert event.subject_key in page.content.decode()
    assert b'name="action"' not in page.content


@pytest.mark.parametrize(
    "field, value",
    [
        ("purpose__id__exact", None),
        ("decision__exact", "given"),
        ("method__exact", "consent_center"),
        ("actor__exact", "self"),
    ],
)
def test_the_ledger_filters_by_purpose_decision_method_and_actor(staff_client, field, value):
    event = an_event()
    ledger.consent_record(  # differs in purpose, decision, method and actor
        subject_key=event.subject_key,
        purpose=PurposeFactory(),
        decision=Decision.REFUSED,
        method=Method.API,
        actor=ConsentActor.SYSTEM,
    )
    query = {field: value or str(event.purpose_id)}
    page = staff_client.get(reverse("admin:consent_consentevent_changelist"), query)
    assert list(page.context["cl"].result_list) == [event]


def test_staff_find_a_users_chain_by_their_email_address(staff_client):
    user = UserFactory()
    event = an_event(user)
    an_event()  # someone else's
    page = staff_client.get(reverse("admin:consent_consentevent_changelist"), {"q": user.email})
    assert list(page.context["cl"].result_list) == [event]


@pytest.mark.parametrize("name", ["consentevent", "disclosure"])
def test_viewing_a_ledger_row_is_audited(staff_client, name):
    row = ROWS[name]()
    staff_client.get(reverse(f"admin:consent_{name}_change", args=[row.pk]))
    entry = AuditLogEntry.objects.filter(action=VIEWED).latest("pk")
    assert (entry.target_type, entry.target_id) == (f"consent.{name}", str(row.pk))


def test_listing_the_disclosure_log_is_audited(staff_client):
    a_disclosure()
    staff_client.get(reverse("admin:consent_disclosure_changelist"))
    entry = AuditLogEntry.objects.filter(action=VIEWED).latest("pk")
    assert (entry.target_type, entry.data["rows"]) == ("consent.disclosure", 1)


@pytest.mark.parametrize("name", ["consentevent", "disclosure"])
@pytest.mark.parametrize("term", ["²", "1" * 20, "-3"])
def test_a_search_that_only_looks_like_a_user_id_is_answered_not_a_server_error(
    staff_client, name, term
):
    an_event()
    response = staff_client.get(reverse(f"admin:consent_{name}_changelist"), {"q": term})
    assert response.status_code == 200
