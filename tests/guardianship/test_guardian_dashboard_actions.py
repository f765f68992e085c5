"""What a guardian does for a minor on the web: consents on their behalf (ledger events with
actor guardian), copy and deletion requests verified by the guardian's own re-authentication,
and revoking the approval."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse

from consent import ledger
from consent.models import ConsentEvent
from core.models import AuditLogEntry
from guardianship.models import Guardianship, MinorAccount
from notices.models import Message
from requests_dsar import services
from requests_dsar.models import DataSubjectRequest, Status
from tests.factories import PurposeFactory, ThirdPartyFactory
from tests.guardianship.dashboard_helpers import (
    make_guardianship,
    reauthenticated,
    signed_in,
    text_of,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def guardianship():
    return make_guardianship()


@pytest.fixture
def guardian(guardianship):
    return guardianship.guardian


@pytest.fixture
def minor(guardianship):
    return guardianship.minor


@pytest.fixture
def newsletter():
    return PurposeFactory(key="newsletter", name="Newsletter", offered_to_minors=True)


@pytest.fixture
def ads():
    return PurposeFactory(key="ads", name="Personalised advertising", offered_to_minors=False)


def decide(client, minor, purpose_key, decision):
    return client.post(
        reverse("guardian:consent_decide", args=[minor.pk, purpose_key]), {"decision": decision}
    )


def allowed(user, purpose):
    return ledger.is_allowed(ledger.user_subject_key(user.pk), purpose).allowed


# --- Consents on the minor's behalf ------------------------------------------------------------


def test_consent_given_by_a_guardian_is_a_ledger_event_with_actor_guardian(
    guardian, minor, newsletter
):
    response = decide(signed_in(guardian), minor, "newsletter", "given")
    assert response.status_code == 302
    event = ConsentEvent.objects.get(subject_key=ledger.user_subject_key(minor.pk))
    assert (event.decision, event.actor, event.method) == ("given", "guardian", "guardian")
    assert event.actor_user_id == guardian.pk
    assert allowed(minor, newsletter)


def test_consent_withdrawn_by_a_guardian_stops_at_once_and_is_recorded_as_theirs(
    guardian, minor, newsletter
):
    client = signed_in(guardian)
    decide(client, minor, "newsletter", "given")
    decide(client, minor, "newsletter", "withdrawn")
    latest = ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(minor.pk)).latest(
        "seq"
    )
    assert (latest.decision, latest.actor) == ("withdrawn", "guardian")
    assert not allowed(minor, newsletter)


def test_a_purpose_not_offered_to_minors_is_never_shown_to_their_guardian(
    guardian, minor, newsletter, ads
):
    page = text_of(signed_in(guardian).get(reverse("guardian:consents", args=[minor.pk])))
    assert "Newsletter" in page
    assert "Personalised advertising" not in page


def test_a_guardian_cannot_give_a_purpose_not_offered_to_minors(guardian, minor, ads):
    response = decide(signed_in(guardian), minor, "ads", "given")
    assert response.status_code == 404
    assert not ConsentEvent.objects.filter(subject_key=ledger.user_subject_key(minor.pk)).exists()


def test_an_unknown_decision_changes_nothing_and_says_so(guardian, minor, newsletter):
    response = decide(signed_in(guardian), minor, "newsletter", "maybe")
    assert response.status_code == 302
    assert not ConsentEvent.objects.exists()


# --- Requests filed for the minor --------------------------------------------------------------


def test_a_copy_request_needs_the_guardians_password_again(guardian, minor):
    response = signed_in(guardian).post(
        reverse("guardian:request_create", args=[minor.pk, "copy"]), {"extent": "all"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not DataSubjectRequest.objects.exists()


def test_a_copy_request_filed_by_a_reauthenticated_guardian_is_verified_for_the_minor(
    guardian, minor, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    response = reauthenticated(guardian).post(
        reverse("guardian:request_create", args=[minor.pk, "copy"]), {"extent": "all"}
    )
    filed = DataSubjectRequest.objects.get()
    assert response.status_code == 302
    assert (filed.subject, filed.requester, filed.type) == (minor, guardian, "copy")
    assert filed.verification_method == "reauthentication"


@time_machine.travel(NOW, tick=False)
def test_a_deletion_request_for_the_minor_waits_out_the_cool_off(guardian, minor, settings):
    reauthenticated(guardian).post(
        reverse("guardian:request_create", args=[minor.pk, "delete"]),
        {"extent": "all", "confirm": "on"},
    )
    filed = DataSubjectRequest.objects.get()
    assert (filed.subject, filed.requester, filed.status) == (minor, guardian, Status.PENDING)
    assert filed.act_after == NOW + datetime.timedelta(days=settings.DSAR_ERASURE_COOL_OFF_DAYS)


def test_a_deletion_request_without_the_confirmation_is_refused_with_a_message(guardian, minor):
    response = reauthenticated(guardian).post(
        reverse("guardian:request_create", args=[minor.pk, "delete"]), {"extent": "all"}
    )
    assert response.status_code == 400
    assert "Please confirm" in text_of(response)
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.parametrize("kind", ["access", "correct", "question", "nonsense"])
def test_a_guardian_can_ask_only_for_a_copy_or_a_deletion(guardian, minor, kind):
    response = reauthenticated(guardian).get(
        reverse("guardian:request_create", args=[minor.pk, kind])
    )
    assert response.status_code == 404


def test_the_requests_page_lists_the_requests_filed_for_this_minor_only(guardian, minor):
    filed, _ = services.dsar_request_create(
        subject=minor, requester=guardian, type="delete", reauthenticated=True
    )
    own, _ = services.dsar_request_create(
        subject=minor, requester=minor, type="question", details="Mine", reauthenticated=True
    )
    page = signed_in(guardian).get(reverse("guardian:requests", args=[minor.pk]))
    html = page.content.decode()
    assert reverse("dsar:detail", args=[filed.public_id]) in html
    assert reverse("dsar:detail", args=[own.public_id]) not in html


def test_a_deletion_the_guardian_filed_is_the_guardians_to_cancel_not_the_minors(guardian, minor):
    # The minor can follow a request about their data, but not withdraw their guardian's.
    filed, _ = services.dsar_request_create(
        subject=minor, requester=guardian, type="delete", reauthenticated=True
    )
    as_minor = signed_in(minor)
    page = as_minor.get(reverse("dsar:detail", args=[filed.public_id]))
    assert page.status_code == 200
    assert "only they can cancel it" in text_of(page)
    assert reverse("dsar:cancel", args=[filed.public_id]) not in page.content.decode()
    as_minor.post(reverse("dsar:cancel", args=[filed.public_id]))
    filed.refresh_from_db()
    assert filed.status != Status.CANCELLED
    with pytest.raises(services.TransitionNotAllowed, match="only they can cancel it"):
        services.dsar_cancel(request=filed, actor=minor)
    services.dsar_cancel(request=filed, actor=guardian)
    filed.refresh_from_db()
    assert filed.status == Status.CANCELLED


# --- Revocation --------------------------------------------------------------------------------


def test_revoking_asks_for_confirmation_first(guardian, minor, guardianship):
    page = reauthenticated(guardian).get(reverse("guardian:revoke", args=[minor.pk]))
    assert "Withdraw my approval" in text_of(page)
    guardianship.refresh_from_db()
    assert guardianship.status == Guardianship.Status.APPROVED


def test_revoking_needs_the_guardians_password_again(guardian, minor, guardianship):
    response = signed_in(guardian).post(reverse("guardian:revoke", args=[minor.pk]))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    guardianship.refresh_from_db()
    assert guardianship.status == Guardianship.Status.APPROVED


@time_machine.travel(NOW, tick=False)
def test_revoking_suspends_the_minor_and_schedules_erasure_after_the_cool_off(
    guardian, minor, guardianship, settings
):
    client = reauthenticated(guardian)
    response = client.post(reverse("guardian:revoke", args=[minor.pk]))
    assert response["Location"] == reverse("guardian:home")
    guardianship.refresh_from_db()
    account = MinorAccount.objects.get(user=minor)
    assert guardianship.status == Guardianship.Status.REVOKED
    assert account.status == MinorAccount.Status.SUSPENDED
    cool_off = datetime.timedelta(days=settings.GUARDIAN_REVOCATION_COOL_OFF_DAYS)
    assert account.decide_by == NOW + cool_off
    assert client.get(reverse("guardian:profile", args=[minor.pk])).status_code == 404


def test_revoking_tells_both_the_minor_and_the_guardian(guardian, minor):
    reauthenticated(guardian).post(reverse("guardian:revoke", args=[minor.pk]))
    told = set(Message.objects.filter(category="account_security").values_list("user", flat=True))
    assert told == {guardian.pk, minor.pk}


def test_revoking_twice_is_harmless(guardian, minor):
    client = reauthenticated(guardian)
    client.post(reverse("guardian:revoke", args=[minor.pk]))
    second = client.post(reverse("guardian:revoke", args=[minor.pk]))
    assert second.status_code == 404
    assert Message.objects.filter(user=guardian).count() == 1


def test_a_guardian_verified_by_email_alone_cannot_consent_to_sharing_with_third_parties(
    guardian, minor
):
    shared = PurposeFactory(key="partners", name="Partner offers", offered_to_minors=True)
    shared.third_parties.add(ThirdPartyFactory(key="partner"))
    page = text_of(signed_in(guardian).get(reverse("guardian:consents", args=[minor.pk])))
    decide(signed_in(guardian), minor, "partners", "given")
    assert "needs a guardian verified by a signed document" in page
    assert not allowed(minor, shared)


def test_a_guardian_verified_by_document_can_consent_to_sharing_with_third_parties(minor):
    Guardianship.objects.filter(minor=minor).update(verification_method="document")
    guardian = Guardianship.objects.get(minor=minor).guardian
    shared = PurposeFactory(key="partners", name="Partner offers", offered_to_minors=True)
    shared.third_parties.add(ThirdPartyFactory(key="partner"))
    decide(signed_in(guardian), minor, "partners", "given")
    assert allowed(minor, shared)


def test_after_revocation_the_minor_reaches_only_the_waiting_page(guardian, minor):
    reauthenticated(guardian).post(reverse("guardian:revoke", args=[minor.pk]))
    response = signed_in(minor).get(reverse("dashboard:home"))
    assert (response.status_code, response["Location"]) == (303, reverse("minor:waiting"))


def test_a_request_filed_for_the_minor_is_audited_as_the_guardians_act(guardian, minor):
    reauthenticated(guardian).post(
        reverse("guardian:request_create", args=[minor.pk, "copy"]), {"extent": "all"}
    )
    entry = AuditLogEntry.objects.get(action="guardian.request_filed")
    assert (entry.actor_user_id, entry.actor_role, entry.target_id) == (
        guardian.pk,
        "guardian",
        str(minor.pk),
    )
