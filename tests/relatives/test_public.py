"""The relative's public form: open without signing in, identical answers whether or not an
account exists, only real PDF/JPEG/PNG proof within the limits, nothing stored on refusal."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from core import uploads
from core.models import AuditLogEntry
from relatives.models import RelativeCase, RelativeDocument
from requests_dsar.models import Status
from tests.factories import UserFactory
from tests.relatives.factories import (
    EXE,
    FORM,
    JPEG,
    PDF,
    PNG,
    RELATIVE_EMAIL,
    certificate,
    code_from_mail,
    form_data,
    proof,
    stored_files,
    submit,
    use_tmp_media,
)

pytestmark = pytest.mark.django_db
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
DIGITS = re.compile(r"\b\d{6}\b|\b[0-9a-f]{8}\b")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    return use_tmp_media(settings, tmp_path)


def comparable(text: str) -> str:
    """A page or e-mail with what differs on every submission (ids, codes, references, the
    CSRF token) blanked out."""
    return DIGITS.sub("N", CSRF.sub("CSRF", UUID.sub("ID", text)))


def nothing_kept(media) -> bool:
    return not RelativeCase.objects.exists() and not stored_files(media) and mail.outbox == []


def test_the_form_is_open_without_signing_in_and_linked_from_the_public_request_page(client):
    response = client.get(FORM)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()
    assert FORM in client.get(reverse("dsar_public:form")).content.decode()


def test_every_answer_is_the_same_with_or_without_an_account(
    client, django_capture_on_commit_callbacks
):
    existing = UserFactory()
    seen = []
    for address in (existing.email, "nobody@example.org"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            filed = submit(client, address)
        code_page = client.get(filed["Location"])
        code_mail = mail.outbox[-1]
        with django_capture_on_commit_callbacks(execute=True):
            confirmed = client.post(filed["Location"], {"code": code_from_mail()})
        received_mail = mail.outbox[-1]
        seen.append(
            [
                filed.status_code,
                comparable(filed["Location"]),
                comparable(code_page.content.decode()),
                code_mail.to,
                comparable(code_mail.subject + str(code_mail.body)),
                confirmed.status_code,
                comparable(confirmed.content.decode()),
                received_mail.to,
                comparable(received_mail.subject + str(received_mail.body)),
                len(mail.outbox),
            ]
        )
    assert seen[0] == seen[1]
    # Both are real cases; only staff see that one has no account.
    cases = RelativeCase.objects.order_by("pk")
    assert [c.deceased_id for c in cases] == [existing.pk, None]
    assert all(c.request.status == Status.AWAITING_APPROVAL for c in cases)


def test_the_code_goes_to_the_relative_never_to_the_account(
    client, django_capture_on_commit_callbacks
):
    existing = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, existing.email)
    assert [m.to for m in mail.outbox] == [[RELATIVE_EMAIL]]


def test_documents_are_stored_encrypted(client, media):
    submit(client, "nobody@example.org")
    files = stored_files(media)
    assert RelativeDocument.objects.count() == len(files) == 2
    assert all(PDF not in path.read_bytes() for path in files)


def test_several_files_of_each_kind_are_taken(client):
    jpeg = SimpleUploadedFile("page-2.jpg", JPEG, content_type="image/jpeg")
    response = submit(client, "nobody@example.org", death_certificate=[certificate(), jpeg])
    assert response.status_code == 302
    assert RelativeDocument.objects.filter(kind="death_certificate").count() == 2


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("certificate.pdf", EXE, content_type="application/pdf"),
            "Only PDF, JPEG or PNG files are accepted",
        ),
        (
            SimpleUploadedFile("certificate.gif", b"GIF89a" + b"\x00" * 30, "image/gif"),
            "Only PDF, JPEG or PNG files are accepted",
        ),
        (
            SimpleUploadedFile("certificate.png", PDF, content_type="image/png"),
            "does not match its content",
        ),
        (
            SimpleUploadedFile("certificate.pdf", PDF + b"0" * 4096, "application/pdf"),
            "The file is too large",
        ),
    ],
    ids=["renamed executable", "wrong type", "misnamed", "too large"],
)
def test_bad_uploads_are_refused_clearly_and_nothing_is_stored(
    client, media, settings, upload, message
):
    settings.DSAR_UPLOAD_MAX_BYTES = 2048
    response = submit(client, "nobody@example.org", death_certificate=[upload])
    assert response.status_code == 400
    assert message in response.content.decode()
    assert nothing_kept(media)


def test_one_bad_file_among_good_ones_refuses_all_and_names_its_position(client, media):
    bad = SimpleUploadedFile("scan.pdf", EXE, content_type="application/pdf")
    response = submit(client, "nobody@example.org", relationship_proof=[proof(), bad])
    assert "File 2: Only PDF, JPEG or PNG" in response.content.decode()
    assert "scan.pdf" not in response.content.decode()
    assert nothing_kept(media)


def test_too_many_files_are_refused(client, media):
    response = submit(client, "nobody@example.org", death_certificate=[certificate()] * 6)
    assert response.status_code == 400
    assert "at most 5 files" in response.content.decode()
    assert nothing_kept(media)


def test_both_kinds_of_proof_are_required(client, media):
    response = submit(client, "nobody@example.org", relationship_proof=[])
    assert response.status_code == 400
    assert "Add a proof of your relationship" in response.content.decode()
    assert nothing_kept(media)


def test_another_relationship_must_be_named(client, media):
    response = submit(client, "nobody@example.org", relationship="other")
    assert response.status_code == 400
    assert "Say how you are related" in response.content.decode()
    assert nothing_kept(media)


def test_a_storage_fault_keeps_nothing_and_says_so(client, media, monkeypatch):
    real_store = uploads.store_encrypted
    calls = []

    def failing_second_time(upload, *, folder):
        calls.append(folder)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_store(upload, folder=folder)

    monkeypatch.setattr(uploads, "store_encrypted", failing_second_time)
    response = submit(client, "nobody@example.org")
    assert response.status_code == 503
    assert "kept nothing" in response.content.decode()
    assert nothing_kept(media)


def test_submissions_are_rate_limited(client, settings):
    settings.DSAR_PUBLIC_REQUESTS_PER_HOUR = 2
    answers = [submit(client, "nobody@example.org").status_code for _ in range(3)]
    elsewhere = submit(
        Client(REMOTE_ADDR="198.51.100.9"), "nobody@example.org", relative_email="b@example.net"
    )
    assert answers == [302, 302, 429]
    assert elsewhere.status_code == 302


def test_wrong_codes_are_limited_and_never_confirm(client, settings):
    settings.DSAR_CODE_MAX_ATTEMPTS = 2
    filed = submit(client, "nobody@example.org")
    results = [client.post(filed["Location"], {"code": "000000"}) for _ in range(3)]
    assert [r.context["result"] for r in results] == ["wrong", "locked", "locked"]
    assert RelativeCase.objects.get().request is None


def test_an_unknown_case_id_answers_like_an_expired_code(client):
    page = reverse("dsar_relatives:verify", args=[uuid.uuid4()])
    response = client.post(page, {"code": "123456"})
    assert (response.status_code, response.context["result"]) == (400, "expired")


def test_a_new_code_replaces_the_old_one(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        filed = submit(client, "nobody@example.org")
    first = code_from_mail()
    case = RelativeCase.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dsar_relatives:code_resend", args=[case.public_id]))
    second = code_from_mail()
    if first != second:
        assert client.post(filed["Location"], {"code": first}).context["result"] == "wrong"
    assert client.post(filed["Location"], {"code": second}).status_code == 200
    assert RelativeCase.objects.get().verified_at is not None


def test_the_audit_log_holds_no_personal_data_of_the_case(client):
    submit(client, "nobody@example.org")
    entry = AuditLogEntry.objects.get(action="relatives.case_filed")
    assert RELATIVE_EMAIL not in str(entry.data) and "nobody" not in str(entry.data)


def test_new_codes_are_limited_per_case(client):
    submit(client, "nobody@example.org")
    resend = reverse("dsar_relatives:code_resend", args=[RelativeCase.objects.get().public_id])
    answers = [Client(REMOTE_ADDR=f"198.51.100.{n}").post(resend).status_code for n in range(1, 5)]
    assert answers == [200, 200, 200, 429]


# --- What an unconfirmed case may make the portal hold ---------------------------------------


def test_one_address_may_store_only_so_many_bytes_a_day_before_a_code_is_confirmed(
    client, settings, media
):
    settings.DSAR_PUBLIC_REQUESTS_PER_HOUR = 100
    settings.RELATIVES_UNVERIFIED_BYTES_PER_IP = 2 * (len(PDF) + len(PNG))
    assert submit(client, "a@example.org").status_code == 302
    assert submit(client, "b@example.org").status_code == 302
    refused = submit(client, "c@example.org")
    assert refused.status_code == 429
    assert "only so many documents a day" in refused.content.decode()
    assert RelativeCase.objects.count() == 2
    assert len(stored_files(media)) == 4


def test_unconfirmed_cases_together_hold_no_more_than_the_global_quota(client, settings, media):
    settings.DSAR_PUBLIC_REQUESTS_PER_HOUR = 100
    settings.RELATIVES_UNVERIFIED_BYTES_TOTAL = len(PDF) + len(PNG)
    assert submit(client, "a@example.org").status_code == 302
    refused = Client(REMOTE_ADDR="203.0.113.9").post(FORM, form_data("b@example.org"))
    assert refused.status_code == 503
    assert "kept nothing" in refused.content.decode()
    assert RelativeCase.objects.count() == 1
    assert len(stored_files(media)) == 2


def test_a_confirmed_case_no_longer_counts_against_the_quota(
    client, settings, media, django_capture_on_commit_callbacks
):
    settings.DSAR_PUBLIC_REQUESTS_PER_HOUR = 100
    settings.RELATIVES_UNVERIFIED_BYTES_TOTAL = len(PDF) + len(PNG)
    with django_capture_on_commit_callbacks(execute=True):
        filed = submit(client, "a@example.org")
    client.post(filed["Location"], {"code": code_from_mail()})
    assert RelativeCase.objects.get().verified_at is not None
    assert submit(client, "b@example.org").status_code == 302


def test_a_body_over_the_web_tiers_cap_is_refused_unread(client, settings):
    settings.REQUEST_BODY_MAX_BYTES = 100
    response = client.post(FORM, form_data("a@example.org"))
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not RelativeCase.objects.exists()


def test_a_form_with_more_files_than_the_web_tier_takes_is_refused_cleanly(client, media):
    response = client.post(
        FORM, form_data("a@example.org", death_certificate=[certificate() for _ in range(11)])
    )
    assert response.status_code == 400
    assert nothing_kept(media)


def test_the_relatives_code_never_travels_as_a_task_argument(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(client, "someone@example.org")
    code = code_from_mail()
    arguments = [str(arg) for callback in callbacks for arg in callback.args]
    assert code not in arguments
    assert str(RelativeCase.objects.get().pk) in arguments
