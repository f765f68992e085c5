"""Retention in the admin: legal holds by privacy officers, overrides with a reason, the report."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLogEntry
from retention.models import LegalHold, RetentionOverride
from tests.factories import (
    AccessLogEntryFactory,
    DataSubjectRequestFactory,
    PrivacyOfficerFactory,
    SupportAgentFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

HOLDS = reverse("admin:retention_legalhold_changelist")
ADD_HOLD = reverse("admin:retention_legalhold_add")
PERIODS = reverse("admin:retention_retentionoverride_changelist")
ADD_OVERRIDE = reverse("admin:retention_retentionoverride_add")


def in_days(days):
    moment = timezone.localtime() + datetime.timedelta(days=days)
    return {"expires_at_0": moment.date().isoformat(), "expires_at_1": "12:00:00"}


def hold_form(**fields):
    return {
        "user": "",
        "request": "",
        "reason": "",
        "expires_at_0": "",
        "expires_at_1": "",
        **fields,
    }


def test_a_privacy_officer_places_a_hold_on_a_user_and_it_is_audited():
    officer, user = PrivacyOfficerFactory(), UserFactory()
    client = signed_in(officer)

    response = client.post(
        ADD_HOLD, hold_form(user=user.pk, reason="Litigation hold, case 2026-17", **in_days(90))
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    hold = LegalHold.objects.get(user=user)
    assert hold.set_by == officer and hold.expires_at > timezone.now()
    entry = AuditLogEntry.objects.get(action="retention.hold_set")
    assert (entry.actor_user_id, entry.data["user_id"]) == (officer.pk, user.pk)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"reason": "Order"}, "user", "either a user or a request"),
        ({"user": "both", "request": "both", "reason": "Order"}, "user", "not both"),
        ({"user": "user", "reason": "   "}, "reason", "Say why"),
        ({"user": "user", "reason": "Order", **in_days(-2)}, "expires_at", "in the future"),
    ],
    ids=["no-target", "two-targets", "no-reason", "past-expiry"],
)
def test_the_hold_form_says_what_is_wrong(fields, field, says):
    user = UserFactory()
    request = DataSubjectRequestFactory(subject=user)
    values = {
        "user": user.pk if fields.get("user") else "",
        "request": request.pk if fields.get("request") else "",
    }
    client = signed_in(PrivacyOfficerFactory())

    response = client.post(ADD_HOLD, hold_form(**{**fields, **values}))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert says in " ".join(errors.get(field, [])), errors
    assert not LegalHold.objects.exists()


def test_a_support_agent_sees_holds_but_cannot_place_or_release_them():
    hold = LegalHold.objects.create(user=UserFactory(), reason="Order")
    client = signed_in(SupportAgentFactory())

    listing = client.get(HOLDS)
    page = client.get(reverse("admin:retention_legalhold_change", args=[hold.pk]))
    adding = client.get(ADD_HOLD)
    releasing = client.post(
        HOLDS, {"action": "release_selected", "_selected_action": [hold.pk], "index": 0}
    )

    assert listing.status_code == 200 and "In force" in listing.text
    assert page.status_code == 200 and 'name="_save"' not in page.text  # read-only
    assert adding.status_code == 403
    assert releasing.status_code in (200, 302)
    assert LegalHold.objects.get(pk=hold.pk).released_at is None


def test_releasing_a_hold_records_who_and_when_and_is_audited():
    officer = PrivacyOfficerFactory()
    hold = LegalHold.objects.create(user=UserFactory(), reason="Order")
    client = signed_in(officer)

    client.post(HOLDS, {"action": "release_selected", "_selected_action": [hold.pk], "index": 0})

    hold.refresh_from_db()
    assert hold.released_by == officer and hold.released_at is not None
    assert AuditLogEntry.objects.filter(
        action="retention.hold_released", target_id=str(hold.pk)
    ).exists()
    assert not LegalHold.objects.active().exists()


def test_a_hold_cannot_be_edited_or_deleted_once_placed():
    hold = LegalHold.objects.create(user=UserFactory(), reason="Order")
    client = signed_in(PrivacyOfficerFactory())
    change = reverse("admin:retention_legalhold_change", args=[hold.pk])

    client.post(change, hold_form(reason="Changed"))
    deleting = client.get(reverse("admin:retention_legalhold_delete", args=[hold.pk]))

    assert LegalHold.objects.get(pk=hold.pk).reason == "Order"
    assert deleting.status_code == 403


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"category": "access_log", "days": "0", "reason": "Law"}, "days", "from 1 to"),
        ({"category": "nonsense", "days": "30", "reason": "Law"}, "category", "valid choice"),
        ({"category": "access_log", "days": "30", "reason": " "}, "reason", "Say why"),
    ],
    ids=["zero-days", "unknown-category", "no-reason"],
)
def test_an_override_needs_a_known_category_positive_days_and_a_reason(fields, field, says):
    client = signed_in(PrivacyOfficerFactory())

    response = client.post(ADD_OVERRIDE, fields)

    errors = response.context["adminform"].form.errors
    assert says in " ".join(errors.get(field, [])), errors
    assert not RetentionOverride.objects.exists()


def test_an_override_records_who_set_it_and_moves_the_cutoff_on_the_retention_page():
    officer = PrivacyOfficerFactory()
    AccessLogEntryFactory(created_at=timezone.now() - datetime.timedelta(days=60))
    client = signed_in(officer)

    client.post(ADD_OVERRIDE, {"category": "access_log", "days": "30", "reason": "Minimisation"})
    page = client.get(PERIODS)

    override = RetentionOverride.objects.get(category="access_log")
    assert (override.days, override.set_by) == (30, officer)
    line = next(ln for ln in page.context["retention_report"] if ln.rule.key == "access_log")
    assert (line.period.days, line.period.overridden, line.due) == (30, True, 1)
    assert AuditLogEntry.objects.get(action="retention.override_set").data["days"] == 30


def test_deleting_an_override_goes_back_to_the_settings_and_is_audited():
    RetentionOverride.objects.create(category="access_log", days=30, reason="Minimisation")
    override = RetentionOverride.objects.get()
    client = signed_in(PrivacyOfficerFactory())

    client.post(
        reverse("admin:retention_retentionoverride_delete", args=[override.pk]),
        {"post": "yes"},
    )

    assert not RetentionOverride.objects.exists()
    assert AuditLogEntry.objects.filter(action="retention.override_cleared").exists()


def test_the_retention_page_shows_every_category_with_its_period_and_counts():
    AccessLogEntryFactory(created_at=timezone.now() - datetime.timedelta(days=200))
    client = signed_in(SupportAgentFactory())

    page = client.get(PERIODS)

    assert page.status_code == 200
    assert "What the next sweep would remove" in page.text
    keys = [line.rule.key for line in page.context["retention_report"]]
    assert {"access_log", "unconfirmed_signups", "inbox_messages"} <= set(keys)
    assert [str(m) for m in get_messages(page.wsgi_request)] == []
