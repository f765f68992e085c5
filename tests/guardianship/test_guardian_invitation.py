"""The guardian's invitation: a signed, expiring, single-use link; an adult's own account, never
the minor or another minor; what the portal collects and why; email_plus's second
confirmation; approval recorded in the ledger as the guardian's; a decline."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent import ledger
from consent.models import ConsentActor, ConsentEvent, Decision
from consent.services import consent_give
from guardianship import flow as flow
from guardianship.models import Guardianship, MinorAccount
from guardianship.services import guardian_consent_decide
from requests_dsar.models import DataSubjectRequest
from tests.factories import ProfileFactory, PurposeFactory, ThirdPartyFactory, UserFactory
from tests.guardianship.factories import (
    AdultFactory,
    MinorAccountFactory,
    link_in,
    signed_in,
    years_ago,
)

pytestmark = pytest.mark.django_db

HOURS = datetime.timedelta(hours=1)


@pytest.fixture
def purposes():
    analytics = PurposeFactory(key="analytics", name="Usage analytics")
    analytics.third_parties.add(ThirdPartyFactory(key="sdk"))
    return {
        "newsletter": PurposeFactory(key="newsletter", name="Newsletter"),
        "ads": PurposeFactory(key="ads", name="Personalised ads", offered_to_minors=False),
        "analytics": analytics,
        "account": PurposeFactory(
            key="account", name="Running the account", legal_basis="contract", is_optional=False
        ),
    }


@pytest.fixture
def invited(django_capture_on_commit_callbacks):
    """A waiting minor's invitation, and the path of the link e-mailed to the guardian."""
    minor = MinorAccountFactory().user
    with django_capture_on_commit_callbacks(execute=True):
        guardianship = flow.guardian_invite(minor=minor, guardian_email="parent@example.org")
    return guardianship, link_in(mail.outbox[-1], r"/guardian-consent/i/")


@pytest.fixture
def guardian():
    return AdultFactory(email="parent@example.org")


def accept(client, path):
    return client.post(path, {"action": "accept", "confirm": "on"})


# --- The link ----------------------------------------------------------------------------------


def test_the_link_shows_what_would_be_collected_and_why_without_signing_in(
    client, invited, purposes
):
    guardianship, path = invited
    html = client.get(path).content.decode()
    assert "Running the account" in html and "Needed for the service you asked for" in html
    assert "Newsletter" in html
    assert "Personalised ads" not in html
    assert guardianship.minor.email not in html  # masked until an eligible guardian signs in
    assert reverse("account_login") in html


def test_a_tampered_link_is_refused_with_a_clear_page(client, invited):
    _guardianship, path = invited
    response = client.get(path.replace("/i/", "/i/x"))
    assert response.status_code == 400
    assert "not complete or was changed" in response.content.decode()


def test_an_expired_link_is_refused_with_a_clear_page(client, invited):
    _guardianship, path = invited
    with time_machine.travel(timezone.now() + datetime.timedelta(days=8)):
        response = client.get(path)
    assert response.status_code == 410
    assert "has expired" in response.content.decode()


def test_a_used_link_is_refused_to_anyone_else(invited, guardian):
    _guardianship, path = invited
    accept(signed_in(guardian), path)
    response = signed_in(AdultFactory()).get(path)
    assert response.status_code == 410
    assert "already used" in response.content.decode()


def test_a_used_link_brings_its_guardian_to_their_next_step(invited, guardian):
    guardianship, path = invited
    client = signed_in(guardian)
    accept(client, path)
    response = client.get(path)
    assert response["Location"] == reverse("guardian_invitation:status", args=[guardianship.pk])


def test_a_signed_out_guardian_is_brought_back_to_the_invitation_after_signing_in(
    client, invited, guardian
):
    _guardianship, path = invited
    client.get(path)
    client.force_login(guardian)
    assert client.get(reverse("dashboard:home"))["Location"] == path


# --- Who may be the guardian ------------------------------------------------------------------


def test_the_minor_cannot_approve_their_own_account(invited):
    guardianship, path = invited
    client = signed_in(guardianship.minor)
    assert "cannot approve your own account" in client.get(path).content.decode()
    accept(client, path)
    assert Guardianship.objects.get().status == "invited"


def test_another_minor_cannot_be_the_guardian(invited):
    _guardianship, path = invited
    other_minor = UserFactory()
    ProfileFactory(user=other_minor, birth_date=years_ago(17), region="GB")  # may consent alone
    response = accept(signed_in(other_minor), path)
    assert "Only an adult can approve" in response.content.decode()
    assert Guardianship.objects.get().guardian is None


def test_only_the_account_of_the_invited_address_can_accept(invited):
    _guardianship, path = invited
    adult = UserFactory(email="someone.else@example.org")
    ProfileFactory(user=adult, birth_date=years_ago(40), region="GB")
    response = accept(signed_in(adult), path)
    assert "sent to another e-mail address" in response.content.decode()
    assert Guardianship.objects.get().guardian is None


def test_a_guardian_without_a_date_of_birth_is_asked_for_it_first(invited):
    _guardianship, path = invited
    response = signed_in(UserFactory()).get(path)
    assert response.status_code == 403
    assert "Add your date of birth" in response.content.decode()


# --- email_plus: confirmation, delayed second confirmation, approval ----------------------------


def second_confirmation_path():
    return link_in(mail.outbox[-1], r"/guardian-consent/confirm/")


def test_the_second_confirmation_goes_out_only_after_the_delay_and_once(invited, guardian):
    _guardianship, path = invited
    accept(signed_in(guardian), path)
    assert Guardianship.objects.get().status == "confirming"
    sent = len(mail.outbox)
    assert flow.minor_accounts_sweep().second_confirmations_sent == 0
    with time_machine.travel(timezone.now() + 25 * HOURS):
        assert flow.minor_accounts_sweep().second_confirmations_sent == 1
        assert flow.minor_accounts_sweep().second_confirmations_sent == 0
    assert len(mail.outbox) == sent + 1
    assert mail.outbox[-1].to == ["parent@example.org"]


def approve_by_email_plus(invited, guardian, data, settings):
    settings.GUARDIAN_EMAIL_PLUS_DELAY_HOURS = 0
    guardianship, path = invited
    client = signed_in(guardian)
    accept(client, path)
    flow.guardian_second_confirmation_send(guardianship_id=guardianship.pk)
    link = second_confirmation_path()
    return client, link, client.post(link, {"action": "approve", "confirm": "on", **data})


def test_approval_records_the_guardians_choices_in_the_ledger(
    invited, guardian, purposes, settings
):
    guardianship, _path = invited
    _client, _link, response = approve_by_email_plus(
        invited, guardian, {"consent_newsletter": "on"}, settings
    )
    assert "Account approved" in response.content.decode()
    events = ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(guardianship.minor_id))
    assert {(e.purpose.key, e.decision, e.actor, e.method) for e in events} == {
        ("newsletter", "given", "guardian", "guardian")
    }
    assert events.get().actor_user_id == guardian.pk
    assert MinorAccount.objects.get().status == "active"


def test_the_minor_reaches_their_dashboard_once_approved(invited, guardian, purposes, settings):
    guardianship, _path = invited
    approve_by_email_plus(invited, guardian, {}, settings)
    assert signed_in(guardianship.minor).get(reverse("dashboard:home")).status_code == 200


def test_email_plus_never_consents_to_sharing_with_third_parties(
    invited, guardian, purposes, settings
):
    guardianship, _path = invited
    approve_by_email_plus(
        invited, guardian, {"consent_analytics": "on", "consent_newsletter": "on"}, settings
    )
    keys = set(
        ConsentEvent.objects.filter(
            subject_key=ledger.user_subject_key(guardianship.minor_id)
        ).values_list("purpose__key", flat=True)
    )
    assert "analytics" not in keys
    # The guardian's own caller checks what their verification allows before consent records.
    with pytest.raises(Exception, match="third parties"):
        guardian_consent_decide(
            guardianship=Guardianship.objects.get(pk=guardianship.pk),
            purpose=purposes["analytics"],
            decision=Decision.GIVEN,
        )


def test_an_adult_only_purpose_is_never_offered_or_recorded_even_by_the_guardian(
    invited, guardian, purposes, settings
):
    guardianship, _path = invited
    approve_by_email_plus(invited, guardian, {"consent_ads": "on"}, settings)
    assert not ConsentEvent.objects.filter(purpose__key="ads").exists()
    with pytest.raises(Exception, match="not offered to people under 18"):
        consent_give(
            user=guardianship.minor,
            purpose=purposes["ads"],
            method="guardian",
            actor=guardian,
            role=ConsentActor.GUARDIAN,
        )


def test_the_approval_link_works_once(invited, guardian, purposes, settings):
    client, link, _response = approve_by_email_plus(invited, guardian, {}, settings)
    response = client.get(link)
    assert response.status_code == 410
    assert Guardianship.objects.get().status == "approved"


def test_only_the_guardian_who_accepted_can_use_the_second_confirmation(
    invited, guardian, purposes, settings
):
    settings.GUARDIAN_EMAIL_PLUS_DELAY_HOURS = 0
    guardianship, path = invited
    accept(signed_in(guardian), path)
    flow.guardian_second_confirmation_send(guardianship_id=guardianship.pk)
    response = signed_in(AdultFactory()).get(second_confirmation_path())
    assert response.status_code == 404


# --- Decline -------------------------------------------------------------------------------------


def test_a_guardian_can_decline_without_an_account_and_the_account_is_erased(
    client, invited, django_capture_on_commit_callbacks
):
    _guardianship, path = invited
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"action": "decline"})
    assert "Account declined" in response.content.decode()
    request = DataSubjectRequest.objects.get(type="delete")
    assert (request.requester, request.status) == (None, "completed")
