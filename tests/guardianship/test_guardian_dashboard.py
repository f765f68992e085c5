"""The guardian's view on the web: only the minors in one's care, their data as they see it
themselves, and every look audited."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLogEntry
from guardianship.models import Guardianship
from tests.factories import AccessLogEntryFactory, LoginEventFactory, ProfileFactory, UserFactory
from tests.guardianship.dashboard_helpers import (
    make_guardianship,
    make_minor,
    reauthenticated,
    set_profile,
    signed_in,
    text_of,
    views_of,
)

pytestmark = pytest.mark.django_db

# Every page about one minor, by URL name, with the section its look is audited under.
MINOR_PAGES = [
    ("guardian:profile", (), "profile"),
    ("guardian:history", (), "history"),
    ("guardian:consents", (), "consents"),
    ("guardian:requests", (), "requests"),
    ("guardian:request_create", ("copy",), "request_form"),
    ("guardian:request_create", ("delete",), "request_form"),
    ("guardian:revoke", (), "summary"),
]
# Every action on one minor, by URL name, with a valid body.
MINOR_ACTIONS = [
    ("guardian:consent_decide", ("newsletter",), {"decision": "given"}),
    ("guardian:request_create", ("copy",), {"extent": "all"}),
    ("guardian:revoke", (), {}),
]


def url(name, minor, *args):
    return reverse(name, args=[minor.pk, *args])


@pytest.fixture
def guardianship():
    return make_guardianship()


@pytest.fixture
def guardian(guardianship):
    return guardianship.guardian


@pytest.fixture
def minor(guardianship):
    return guardianship.minor


# --- Who can reach a minor ---------------------------------------------------------------------


def _someone_elses_minor():
    return make_guardianship().minor


def _an_adult():
    adult = UserFactory()
    ProfileFactory(user=adult)
    return adult


def _a_revoked_guardianship(guardian):
    return make_guardianship(guardian=guardian, status=Guardianship.Status.REVOKED).minor


def _an_ended_guardianship(guardian):
    return make_guardianship(guardian=guardian, status=Guardianship.Status.ENDED).minor


def _a_minor_who_came_of_age_today(guardian):
    minor = make_minor(adult_on=timezone.localdate())
    return make_guardianship(guardian=guardian, minor=minor).minor


OUT_OF_REACH = {
    "another guardian's minor": lambda guardian: _someone_elses_minor(),
    "an adult": lambda guardian: _an_adult(),
    "a revoked guardianship": _a_revoked_guardianship,
    "an ended guardianship": _an_ended_guardianship,
    "a minor who came of age today": _a_minor_who_came_of_age_today,
}


@pytest.mark.parametrize("who", OUT_OF_REACH)
@pytest.mark.parametrize(("name", "args", "section"), MINOR_PAGES)
def test_a_guardian_gets_404_for_a_page_of_anyone_not_in_their_care(
    guardian, who, name, args, section
):
    other = OUT_OF_REACH[who](guardian)
    response = reauthenticated(guardian).get(url(name, other, *args))
    assert response.status_code == 404
    assert views_of(guardian, other) == []


@pytest.mark.parametrize("who", OUT_OF_REACH)
@pytest.mark.parametrize(("name", "args", "data"), MINOR_ACTIONS)
def test_a_guardian_gets_404_for_an_action_on_anyone_not_in_their_care(
    guardian, who, name, args, data
):
    other = OUT_OF_REACH[who](guardian)
    response = reauthenticated(guardian).post(url(name, other, *args), data)
    assert response.status_code == 404


def test_a_minor_cannot_use_the_guardian_pages_on_themselves(minor):
    assert signed_in(minor).get(url("guardian:profile", minor)).status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in(minor, client):
    response = client.get(url("guardian:profile", minor))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- What the guardian sees --------------------------------------------------------------------


def test_the_guardian_home_lists_only_the_minors_in_their_care(guardian, minor):
    set_profile(minor, name="Alex Minor")
    elsewhere = make_guardianship()
    set_profile(elsewhere.minor, name="Sam Elsewhere")
    page = text_of(signed_in(guardian).get(reverse("guardian:home")))
    assert "Alex Minor" in page
    assert "Sam Elsewhere" not in page


def test_the_minors_information_is_what_their_own_dashboard_shows(guardian, minor):
    set_profile(minor, name="Alex Minor", nickname="alex", occupation="Student")
    LoginEventFactory(user=minor, browser="Firefox 128.0", operating_system="Android")
    page = text_of(signed_in(guardian).get(url("guardian:profile", minor)))
    assert all(s in page for s in ("Alex Minor", "alex", "Student", minor.email))
    assert "Firefox 128.0 on Android" in page


def test_the_minors_history_shows_their_sign_ins_and_activity(guardian, minor):
    LoginEventFactory(user=minor, device="Phone", ip_address="198.51.100.4")
    AccessLogEntryFactory(user=minor, path="/dashboard/profile/")
    LoginEventFactory(user=guardian, device="Tablet", ip_address="192.0.2.99")
    page = text_of(signed_in(guardian).get(url("guardian:history", minor)))
    assert "198.51.100.4" in page
    assert "Opened the profile" in page
    assert "192.0.2.99" not in page


def test_the_guardian_link_shows_only_for_someone_with_a_minor_in_their_care(guardian):
    mine = signed_in(guardian).get(reverse("dashboard:home")).content.decode()
    others = signed_in(UserFactory()).get(reverse("dashboard:home")).content.decode()
    assert f'href="{reverse("guardian:home")}"' in mine
    assert f'href="{reverse("guardian:home")}"' not in others


# --- Every look is audited ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "args", "section"), MINOR_PAGES)
def test_every_page_showing_a_minors_data_is_audited_with_its_section(
    guardian, minor, name, args, section
):
    response = reauthenticated(guardian).get(url(name, minor, *args))
    assert response.status_code == 200
    assert views_of(guardian, minor) == [section]


def test_the_guardian_home_audits_a_summary_look_at_each_minor(guardian, minor):
    second = make_guardianship(guardian=guardian).minor
    signed_in(guardian).get(reverse("guardian:home"))
    assert views_of(guardian, minor) == ["summary"]
    assert views_of(guardian, second) == ["summary"]


def test_the_audit_entry_names_ids_only(guardian, minor):
    set_profile(minor, name="Alex Minor")
    signed_in(guardian).get(url("guardian:profile", minor))
    entry = AuditLogEntry.objects.get(action="guardian.viewed_minor_data")
    assert (entry.actor_user_id, entry.actor_role) == (guardian.pk, "guardian")
    assert "Alex" not in str(entry.data) and minor.email not in str(entry.data)


def test_a_minor_reaching_the_age_leaves_the_guardians_pages_at_once(guardian, minor):
    """Even before the daily sweep ends the guardianship."""
    adult_on = minor.minor_account.adult_on
    with time_machine.travel(
        datetime.datetime.combine(adult_on, datetime.time(9), tzinfo=datetime.UTC)
    ):
        assert signed_in(guardian).get(url("guardian:profile", minor)).status_code == 404


def test_an_id_past_the_databases_integers_is_404_not_an_error(guardian):
    response = signed_in(guardian).get(reverse("guardian:profile", args=[2**70]))
    assert response.status_code == 404
