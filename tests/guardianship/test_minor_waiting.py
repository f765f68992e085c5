"""While a guardian has not approved: the minor reaches only the waiting page (and their rights),
gives no consent themselves, and names the guardian who is invited."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services
from consent import ledger
from consent.models import ConsentEvent, Method
from consent.services import consent_give, purposes_offered_to
from guardianship import flow as flow
from guardianship.models import Guardianship, MinorAccount
from tests.factories import PurposeFactory
from tests.guardianship.factories import GuardianshipFactory, MinorAccountFactory, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def minor():
    return MinorAccountFactory().user


@pytest.mark.parametrize(
    "name",
    [
        "dashboard:home",
        "dashboard:profile",
        "dashboard:security",
        "consent:center",
        "guardian:home",
    ],
)
def test_dashboard_pages_send_a_waiting_minor_to_the_waiting_page(minor, name):
    response = signed_in(minor).get(reverse(name))
    assert (response.status_code, response["Location"]) == (303, reverse("minor:waiting"))


def test_a_waiting_minor_may_still_ask_to_delete_their_account_or_read_the_policy(minor):
    client = signed_in(minor)
    assert client.get(reverse("dsar:list")).status_code == 200
    assert client.get(reverse("dsar:new")).status_code == 200
    assert client.get(reverse("minor:waiting")).status_code == 200


def test_the_api_answers_403_to_a_waiting_minor_signed_in_or_by_token(minor):
    assert signed_in(minor).get("/api/v1/me/").status_code == 403
    _token, secret = services.api_token_create(user=minor, name="phone", lifetime=None)
    response = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403
    assert response.json()["code"] == "guardian_approval_required"


def test_an_approved_minor_reaches_their_dashboard():
    account = MinorAccountFactory(status=MinorAccount.Status.ACTIVE, decide_by=None)
    assert signed_in(account.user).get(reverse("dashboard:home")).status_code == 200


def test_a_waiting_minor_cannot_give_consent_themselves(minor):
    purpose = PurposeFactory(key="newsletter")
    with pytest.raises(ValidationError, match="guardian must approve"):
        consent_give(user=minor, purpose=purpose, method=Method.CONSENT_CENTER, actor=minor)
    assert not ConsentEvent.objects.exists()


def test_cookie_choices_of_a_waiting_minor_record_nothing(minor):
    PurposeFactory(key="analytics", cookie_category="analytics")
    response = signed_in(minor).post(reverse("cookies:settings"), {"choice": "accept_all"})
    assert response["Location"] == reverse("minor:waiting")
    assert not ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(minor.pk)).exists()


def test_a_minor_is_never_offered_an_adult_only_purpose(minor):
    PurposeFactory(key="ads", offered_to_minors=False)
    PurposeFactory(key="newsletter")
    assert [p.key for p in purposes_offered_to(minor)] == ["newsletter"]


# --- Naming the guardian --------------------------------------------------------------------


def invite(client, address):
    return client.post(reverse("minor:waiting"), {"action": "invite", "guardian_email": address})


def test_the_named_guardian_is_e_mailed_a_link_and_the_minor_sees_where_it_stands(
    minor, django_capture_on_commit_callbacks
):
    client = signed_in(minor)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, "Parent@Example.org")
    [message] = mail.outbox
    assert message.to == ["parent@example.org"]
    assert "/accounts/guardian-consent/i/" in message.body
    assert minor.email not in message.body  # masked: the link holder sees it on the page
    assert "parent@example.org" in client.get(reverse("minor:waiting")).content.decode()


@pytest.mark.parametrize(
    ("address", "error"),
    [("not-an-address", "valid e-mail address"), ("", "Enter your parent")],
)
def test_a_bad_guardian_address_is_refused_clearly(minor, address, error):
    response = invite(signed_in(minor), address)
    assert response.status_code == 400
    assert error in response.content.decode()


def test_the_minor_cannot_name_themselves(minor):
    response = invite(signed_in(minor), minor.email.upper())
    assert "not your own" in response.content.decode()
    assert not Guardianship.objects.exists()


def test_sending_again_replaces_the_link(minor):
    first = flow.guardian_invite(minor=minor, guardian_email="parent@example.org")
    old_token = flow.invitation_token(first)
    Guardianship.objects.filter(pk=first.pk).update(invited_at=first.invited_at.replace(year=2020))
    flow.guardian_invitation_resend(minor=minor)
    with pytest.raises(flow.LinkRefused) as refused:
        flow.invitation_open(old_token)
    assert refused.value.kind == "used"
    assert Guardianship.objects.count() == 1


def test_invitations_are_limited_per_day(minor):
    for n in range(flow.INVITATIONS_PER_DAY):
        flow.guardian_invite(minor=minor, guardian_email=f"parent{n}@example.org")
        Guardianship.objects.update(invited_at=Guardianship.objects.get().invited_at.replace(2020))
    with pytest.raises(ValidationError, match="try again tomorrow"):
        flow.guardian_invite(minor=minor, guardian_email="another@example.org")


def test_the_address_cannot_change_once_the_guardian_started():
    started = GuardianshipFactory(status=Guardianship.Status.CONFIRMING)
    with pytest.raises(ValidationError, match="already started"):
        flow.guardian_invite(minor=started.minor, guardian_email="other@example.org")


def test_an_account_being_erased_shows_only_that(minor):
    MinorAccount.objects.filter(user=minor).update(status=MinorAccount.Status.ERASING)
    html = signed_in(minor).get(reverse("minor:waiting")).content.decode()
    assert "being deleted" in html
    assert 'name="guardian_email"' not in html
