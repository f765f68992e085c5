"""Verification methods besides email_plus: a document reviewed by a privacy officer (encrypted,
deleted after review), and a provider behind the pluggable interface (a test double here)."""

import datetime
from collections.abc import Mapping
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentEvent
from core.models import AuditLogEntry
from guardianship import flow as flow
from guardianship import verification
from guardianship.models import GuardianDocument, Guardianship, MinorAccount
from tests.factories import (
    PrivacyOfficerFactory,
    PurposeFactory,
    SupportAgentFactory,
    ThirdPartyFactory,
)
from tests.guardianship.factories import (
    AdultFactory,
    GuardianshipFactory,
    MinorAccountFactory,
    signed_in,
)
from tests.requests_dsar import staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64


class FakeIdCheck(verification.GuardianVerificationProvider):
    """A test double: "redirects" straight back with the result the test asks for."""

    name = "fakeid"
    label = "FakeID"
    result = "ok"

    def start(self, *, guardianship: Guardianship, return_url: str) -> str:
        return return_url + "&" + urlencode({"result": self.result, "ref": "REF-1"})

    def complete(self, *, guardianship: Guardianship, params: Mapping[str, str]) -> str:
        if params.get("result") != "ok":
            raise verification.VerificationFailed("FakeID could not confirm who you are.")
        return params["ref"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


@pytest.fixture
def analytics():
    purpose = PurposeFactory(key="analytics", name="Usage analytics")
    purpose.third_parties.add(ThirdPartyFactory(key="sdk"))
    return purpose


def accepted(settings, method):
    """A minor in Germany whose guardian accepted, verified by `method` there."""
    settings.GUARDIAN_VERIFICATION_METHODS = {"default": "email_plus", "DE": method}
    minor = MinorAccountFactory(region="DE").user
    guardianship = flow.guardian_invite(minor=minor, guardian_email="parent@example.org")
    guardian = AdultFactory(email="parent@example.org")
    flow.guardian_accept(
        guardianship=guardianship, guardian=guardian, nonce=guardianship.invitation_nonce
    )
    return Guardianship.objects.get(pk=guardianship.pk), signed_in(guardian)


def test_the_method_of_the_minors_region_is_used_and_recorded(settings):
    guardianship, _client = accepted(settings, "document")
    assert guardianship.verification_method == "document"


# --- Document --------------------------------------------------------------------------------


def upload(client, guardianship, name="consent.pdf", content=PDF):
    return client.post(
        reverse("guardian_invitation:status", args=[guardianship.pk]),
        {"document": SimpleUploadedFile(name, content, content_type="application/pdf")},
    )


def test_a_renamed_executable_is_refused_clearly(settings):
    guardianship, client = accepted(settings, "document")
    response = upload(client, guardianship, "consent.pdf", ELF)
    assert response.status_code == 400
    assert "Only PDF, JPEG or PNG files are accepted" in response.content.decode()
    assert not GuardianDocument.objects.exists()


def test_the_document_is_stored_encrypted_and_waits_for_review(settings):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    document = GuardianDocument.objects.get()
    with default_storage.open(document.storage_name, "rb") as raw:
        assert PDF not in raw.read()
    assert Guardianship.objects.get().status == "in_review"


def review(client, document, **data):
    return client.post(
        reverse("admin:guardianship_guardiandocument_review", args=[document.pk]), data
    )


def test_a_privacy_officer_accepts_the_document_which_is_then_deleted(
    settings, analytics, django_capture_on_commit_callbacks
):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    document = GuardianDocument.objects.get()
    officer = staff.signed_in(PrivacyOfficerFactory())
    assert (
        officer.get(reverse("admin:guardianship_guardiandocument_file", args=[document.pk])).content
        == PDF
    )
    with django_capture_on_commit_callbacks(execute=True):
        review(officer, document, decision="accept")
    document.refresh_from_db()
    assert (document.accepted, document.deleted_at is not None) == (True, True)
    assert not default_storage.exists(document.storage_name)
    assert AuditLogEntry.objects.filter(action="guardian.document_viewed").exists()
    assert "checked your document" in mail.outbox[-1].body
    # Verified by a document, the guardian may consent to sharing with third parties.
    client.post(
        reverse("guardian_invitation:approve_verified", args=[guardianship.pk]),
        {"confirm": "on", "consent_analytics": "on"},
    )
    assert Guardianship.objects.get().status == "approved"
    assert MinorAccount.objects.get().status == "active"
    assert ConsentEvent.objects.get(purpose=analytics).actor == "guardian"


def test_a_rejection_needs_a_note_which_the_guardian_sees_before_uploading_again(
    settings, django_capture_on_commit_callbacks
):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    document = GuardianDocument.objects.get()
    officer = staff.signed_in(PrivacyOfficerFactory())
    assert review(officer, document, decision="reject").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        review(officer, document, decision="reject", review_note="The form is not signed.")
    assert not default_storage.exists(document.storage_name)
    page = client.get(reverse("guardian_invitation:status", args=[guardianship.pk]))
    assert "The form is not signed." in page.content.decode()
    upload(client, guardianship)
    assert GuardianDocument.objects.count() == 2


def test_a_support_agent_cannot_review_a_document(settings):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    agent = staff.signed_in(SupportAgentFactory())
    response = review(agent, GuardianDocument.objects.get(), decision="accept")
    assert response.status_code == 403
    assert GuardianDocument.objects.get().reviewed_at is None


def test_the_guardian_cannot_approve_before_the_document_is_accepted(settings):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    client.post(
        reverse("guardian_invitation:approve_verified", args=[guardianship.pk]), {"confirm": "on"}
    )
    assert Guardianship.objects.get().status == "in_review"


def test_an_accepted_document_never_used_to_approve_does_not_keep_the_account_forever(settings):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    flow.guardian_document_review(
        document=GuardianDocument.objects.get(), reviewer=PrivacyOfficerFactory(), accepted=True
    )
    MinorAccount.objects.update(decide_by=guardianship.invited_at)
    assert flow.minor_accounts_sweep().erasures_started == 1


def test_a_minor_is_not_erased_while_their_guardians_document_waits_for_review(settings):
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    MinorAccount.objects.update(decide_by=guardianship.invited_at)
    assert flow.minor_accounts_sweep().erasures_started == 0


def test_reviewers_are_told_once_of_a_document_still_unreviewed_after_the_decision_date(settings):
    officer = PrivacyOfficerFactory()
    guardianship, client = accepted(settings, "document")
    upload(client, guardianship)
    assert flow.minor_accounts_sweep().overdue_reviews_reported == 0  # not due yet
    MinorAccount.objects.update(decide_by=guardianship.invited_at)
    mail.outbox.clear()
    assert flow.minor_accounts_sweep().overdue_reviews_reported == 1
    assert flow.minor_accounts_sweep().overdue_reviews_reported == 0
    [told] = [m for m in mail.outbox if m.to == [officer.email]]
    assert f"Guardian document #{GuardianDocument.objects.get().pk}" in told.body
    assert guardianship.minor.email not in told.body + told.subject


def overdue_document():
    """A guardian's document in review, for a minor whose decision date has passed."""
    minor = MinorAccountFactory(decide_by=timezone.now() - datetime.timedelta(days=1)).user
    guardianship = GuardianshipFactory(minor=minor, status=Guardianship.Status.IN_REVIEW)
    return GuardianDocument.objects.create(
        guardianship=guardianship,
        storage_name=f"guardian-documents/{guardianship.pk}.bin",
        key_id="k1",
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
    )


def test_documents_newer_than_a_batch_of_reported_ones_are_still_reported(monkeypatch):
    PrivacyOfficerFactory()
    monkeypatch.setattr("guardianship.flow.erasure.SWEEP_BATCH", 2)
    documents = [overdue_document() for _ in range(3)]
    now = timezone.now()

    assert flow.guardian_document_reviews_overdue(now=now) == 2
    assert flow.guardian_document_reviews_overdue(now=now) == 1  # the third, past the reported
    reported = AuditLogEntry.objects.filter(action="guardian.document_review_overdue")
    assert sorted(map(int, reported.values_list("target_id", flat=True))) == [
        d.pk for d in documents
    ]


# --- Provider ----------------------------------------------------------------------------------


@pytest.fixture
def fake_provider(settings):
    settings.GUARDIAN_VERIFICATION_PROVIDERS = {
        "fakeid": "tests.guardianship.test_guardian_invitation_verification.FakeIdCheck"
    }
    FakeIdCheck.result = "ok"
    return FakeIdCheck


def through_provider(client, guardianship):
    start = client.post(reverse("guardian_invitation:provider_start", args=[guardianship.pk]))
    return client.get(start["Location"])


def test_a_provider_verifies_the_guardian_and_only_its_reference_is_kept(settings, fake_provider):
    guardianship, client = accepted(settings, "provider:fakeid")
    response = through_provider(client, guardianship)
    assert response["Location"] == reverse(
        "guardian_invitation:approve_verified", args=[guardianship.pk]
    )
    client.post(response["Location"], {"confirm": "on"})
    approved = Guardianship.objects.get()
    assert (approved.status, approved.verification_method) == ("approved", "provider")
    assert approved.provider_reference == "fakeid:REF-1"


def test_a_provider_that_cannot_verify_leaves_the_guardian_unverified(settings, fake_provider):
    fake_provider.result = "declined"
    guardianship, client = accepted(settings, "provider:fakeid")
    response = through_provider(client, guardianship)
    assert response["Location"] == reverse("guardian_invitation:status", args=[guardianship.pk])
    assert verification.provider_reference(Guardianship.objects.get()) == ""


def test_a_provider_return_with_an_altered_state_is_refused(settings, fake_provider):
    guardianship, client = accepted(settings, "provider:fakeid")
    url = reverse("guardian_invitation:provider_return", args=[guardianship.pk])
    response = client.get(url, {"state": "forged", "result": "ok", "ref": "X"})
    assert response.status_code == 400
    assert verification.provider_reference(Guardianship.objects.get()) == ""


def provider_check_ids(settings, providers):  # type: ignore[no-untyped-def]
    """The ids of the errors the system checks (run by `manage.py check`, `migrate` before every
    start, and `runserver`) report for GUARDIAN_VERIFICATION_PROVIDERS = `providers`."""
    settings.GUARDIAN_VERIFICATION_PROVIDERS = providers
    from django.core import checks

    return [e.id for e in checks.run_checks() if e.id and e.id.startswith("guardianship.")]


class NotAProvider:
    label = "Not a provider"


class HalfAProvider(verification.GuardianVerificationProvider):
    name, label = "half", "Half a provider"  # no start() or complete()


def test_an_unknown_provider_is_refused_at_start_up(settings):
    assert provider_check_ids(settings, {"idcheck": "tests.accounts.nowhere.IdCheck"}) == [
        "guardianship.E001"
    ]
    with pytest.raises(SystemCheckError, match=r"guardianship\.E001"):
        call_command("check")


def test_a_provider_path_naming_something_else_is_refused_at_start_up(settings):
    path = "tests.guardianship.test_guardian_invitation_verification."
    assert provider_check_ids(settings, {"idcheck": path + "NotAProvider"}) == ["guardianship.E002"]
    assert provider_check_ids(settings, {"idcheck": path + "HalfAProvider"}) == [
        "guardianship.E003"
    ]


def test_a_working_provider_passes_the_start_up_check(settings, fake_provider):
    assert provider_check_ids(settings, settings.GUARDIAN_VERIFICATION_PROVIDERS) == []


def test_a_provider_named_nowhere_is_refused_when_used():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        verification.get_provider("nobody")
