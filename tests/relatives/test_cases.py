"""A close relative acts for a deceased user: proof reviewed by a privacy officer, the account
memorialized, the copy delivered through an expiring link or the account erased, and the user's
own arrangement honoured."""

from __future__ import annotations

import datetime
import io
import re
import zipfile

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, User
from core.models import AuditLogEntry
from relatives import services as relatives
from relatives.models import RelativeCase
from requests_dsar import services, sweeps
from requests_dsar.admin_actions import STAFF_ACTIONS
from requests_dsar.models import DataSubjectRequest, ErasureRecord, RequestType, Status
from tests.factories import (
    DEFAULT_PASSWORD,
    DataSubjectRequestFactory,
    LoginEventFactory,
    PrivacyOfficerFactory,
    ProfileFactory,
    UserFactory,
)
from tests.relatives.factories import (
    PDF,
    RELATIVE_EMAIL,
    code_from_mail,
    file_case,
    open_copy,
    use_tmp_media,
)
from tests.requests_dsar.residue import find_residue, rich_account
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+(/privacy/request/deceased/copy/\S+/)")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def deceased():
    user = UserFactory()
    ProfileFactory(user=user)
    LoginEventFactory.create_batch(2, user=user)
    return user


@pytest.fixture
def officer():
    staff = PrivacyOfficerFactory()
    return staff, signed_in(staff)


def case_url(case):
    return reverse("admin:relatives_relativecase_change", args=[case.pk])


def decide_url(case, decision):
    return reverse("admin:relatives_relativecase_decide", args=[case.pk, decision])


def approve(case, officer, capture):
    _staff, client = officer
    with capture(execute=True):
        response = client.post(decide_url(case, "approve"), {"checked": "on"})
    assert response.status_code == 302
    case.refresh_from_db()
    return case


def mails_to(address):
    return [m for m in mail.outbox if address in m.to]


def arrange(user, choice):
    Profile.objects.filter(user=user).update(after_death=choice)


def signs_in(user) -> bool:
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    return SESSION_KEY in client.session


# --- The whole way, with real uploads ----------------------------------------------------------


def test_a_relative_gets_a_copy_end_to_end(
    client, deceased, officer, django_capture_on_commit_callbacks
):
    their_phone = Client()
    their_phone.force_login(deceased)
    # The relative fills in the form with a real PDF and PNG and confirms the code e-mailed to
    # their own address: the case waits for a privacy officer, its clock running.
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    assert case.request.status == Status.AWAITING_APPROVAL
    assert case.request.due_at is not None
    assert [m.subject for m in mails_to(RELATIVE_EMAIL)][-1].startswith("We have your request")

    # The officer reads the case and opens the death certificate through their signed link.
    _staff, staff_client = officer
    page = staff_client.get(case_url(case))
    certificate = next(
        d for d in page.context["documents"] if d["document"].kind == "death_certificate"
    )
    opened = staff_client.get(certificate["url"])
    assert b"".join(opened.streaming_content) == PDF

    # Approval memorializes the account: locked, its sessions ended, no sign-in.
    approve(case, officer, django_capture_on_commit_callbacks)
    deceased.refresh_from_db()
    assert not deceased.is_active
    assert Profile.objects.get(user=deceased).memorialized_at is not None
    assert their_phone.get(reverse("dashboard:home")).status_code == 302
    assert not signs_in(deceased)

    # The worker built the copy; the relative's e-mail brings an expiring link that works
    # without an account, and the download is audited against the case.
    found = LINK.search(str(mails_to(RELATIVE_EMAIL)[-1].body))
    assert found, "no download link in the relative's e-mail"
    response = open_copy(Client(), found.group(1), django_capture_on_commit_callbacks)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "manifest.json" in archive.namelist()
    entry = AuditLogEntry.objects.get(action="dsar.archive_downloaded")
    assert entry.data["relative_case"] == case.pk
    # The deceased's own address was never written to.
    assert mails_to(deceased.email) == []


def test_a_relative_asking_for_deletion_has_the_account_erased_without_residue(
    client, officer, django_capture_on_commit_callbacks
):
    account = rich_account()
    case = file_case(
        client, account.values["email"], django_capture_on_commit_callbacks, asked="delete"
    )
    approve(case, officer, django_capture_on_commit_callbacks)
    assert ErasureRecord.objects.filter(request=case.request).exists()
    assert find_residue(account.values) == {}
    assert "deletion is complete" in mails_to(RELATIVE_EMAIL)[-1].subject


def test_a_denied_case_tells_the_relative_why_and_leaves_the_account(
    client, deceased, officer, django_capture_on_commit_callbacks
):
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    _staff, staff_client = officer
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            decide_url(case, "deny"),
            {"reason": "insufficient_verification", "note": "The certificate is unreadable."},
        )
    case.request.refresh_from_db()
    body = str(mails_to(RELATIVE_EMAIL)[-1].body)
    assert case.request.status == Status.DENIED
    assert "did not prove the death" in body and "The certificate is unreadable." in body
    assert User.objects.get(pk=deceased.pk).is_active


def test_a_case_for_no_account_cannot_be_approved_and_is_closed_as_no_match(
    client, officer, django_capture_on_commit_callbacks
):
    case = file_case(client, "nobody@example.org", django_capture_on_commit_callbacks)
    with pytest.raises(Exception, match="No account uses the address"):
        relatives.relative_case_approve(case=case, actor=officer[0])
    relatives.relative_case_deny(case=case, actor=officer[0], reason="no_match")
    assert DataSubjectRequest.objects.get(pk=case.request_id).status == Status.DENIED


# --- The user's own arrangement ----------------------------------------------------------------


def test_delete_everything_refuses_a_copy_and_deletes(
    client, deceased, officer, django_capture_on_commit_callbacks
):
    arrange(deceased, Profile.AfterDeath.DELETE)
    deceased_address = deceased.email
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks, asked="copy")
    assert "Delete everything" in officer[1].get(case_url(case)).content.decode()
    approve(case, officer, django_capture_on_commit_callbacks)
    request = DataSubjectRequest.objects.get(pk=case.request_id)
    assert (case.outcome, request.type, request.archives.count()) == ("delete", "delete", 0)
    assert User.objects.get(pk=deceased.pk).email.endswith("@erased.invalid")
    assert any("everything should be deleted" in str(m.body) for m in mails_to(RELATIVE_EMAIL))
    # Nothing about the erasure goes to the deceased's own mailbox.
    assert mails_to(deceased_address) == []


def test_a_copy_then_delete_arrangement_deletes_once_the_copys_link_expired(
    client, deceased, officer, settings, django_capture_on_commit_callbacks
):
    arrange(deceased, Profile.AfterDeath.RELATIVES_COPY)
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    approve(case, officer, django_capture_on_commit_callbacks)
    assert DataSubjectRequest.objects.get(pk=case.request_id).status == Status.COMPLETED
    assert case.erasure_request.status == Status.PENDING
    later = timezone.now() + datetime.timedelta(days=settings.DSAR_ARCHIVE_LIFETIME_DAYS + 2)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        sweeps.sweep()
    assert User.objects.get(pk=deceased.pk).email.endswith("@erased.invalid")


@pytest.mark.parametrize("choice", ["", Profile.AfterDeath.RELATIVES_DECIDE])
def test_without_a_contrary_arrangement_the_relative_decides(
    client, deceased, officer, choice, django_capture_on_commit_callbacks
):
    arrange(deceased, choice)
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    approve(case, officer, django_capture_on_commit_callbacks)
    assert (case.outcome, case.erasure_request) == ("copy", None)
    assert DataSubjectRequest.objects.get(pk=case.request_id).archives.count() == 1
    assert not User.objects.get(pk=deceased.pk).email.endswith("@erased.invalid")


# --- Links, the queue and the engine's e-mails ---------------------------------------------------


@pytest.fixture
def delivered(client, deceased, officer, django_capture_on_commit_callbacks):
    """A copy approved and delivered: (case, the link's path)."""
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    approve(case, officer, django_capture_on_commit_callbacks)
    found = LINK.search(str(mails_to(RELATIVE_EMAIL)[-1].body))
    assert found
    return case, found.group(1)


def test_the_relatives_link_expires_with_the_copy(delivered, settings):
    _case, path = delivered
    later = timezone.now() + datetime.timedelta(days=settings.DSAR_ARCHIVE_LIFETIME_DAYS, hours=1)
    with time_machine.travel(later):
        assert Client().get(path).status_code == 410


def test_the_link_alone_does_not_open_the_copy(delivered):
    _case, path = delivered
    page = Client().get(path)
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "E-mail me a code" in page.content.decode()
    assert not AuditLogEntry.objects.filter(action="dsar.archive_downloaded").exists()


def test_a_code_opens_the_copy_once_in_the_browser_that_entered_it(
    delivered, django_capture_on_commit_callbacks
):
    case, path = delivered
    relative = Client()
    downloaded = open_copy(relative, path, django_capture_on_commit_callbacks)
    assert downloaded["Content-Type"] == "application/zip"
    code_mail = mails_to(RELATIVE_EMAIL)[-1]
    assert code_mail.subject.endswith(f"Your code to open the copy ({case.reference})")
    again = relative.get(path)
    assert again["Content-Type"].startswith("text/html")  # a new code for a new download
    assert Client().get(path)["Content-Type"].startswith("text/html")
    assert AuditLogEntry.objects.filter(action="dsar.archive_downloaded").count() == 1


def test_a_used_or_wrong_code_does_not_open_the_copy(delivered, django_capture_on_commit_callbacks):
    _case, path = delivered
    relative = Client()
    with django_capture_on_commit_callbacks(execute=True):
        relative.post(path, {"action": "send"})
    code = code_from_mail()
    wrong = "000000" if code != "000000" else "111111"
    refused = relative.post(path, {"action": "code", "code": wrong})
    assert refused.status_code == 400
    assert "not right" in refused.content.decode()
    assert relative.post(path, {"action": "code", "code": code}).status_code == 302
    relative.get(path)
    used = Client().post(path, {"action": "code", "code": code})
    assert used.status_code == 400
    assert "expired or was already used" in used.content.decode()


def test_a_relatives_link_does_not_open_the_owners_door_nor_the_reverse(delivered, deceased):
    _case, path = delivered
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert Client().get(f"/files/exports/{token}/").status_code == 404
    other = DataSubjectRequestFactory(type="copy")
    services.dsar_process(request_id=other.pk)
    from requests_dsar.downloads import download_url_for

    owner_token = download_url_for(other.archives.get()).rstrip("/").rsplit("/", 1)[1]
    assert Client().get(f"/privacy/request/deceased/copy/{owner_token}/").status_code == 404


def test_the_queue_cannot_approve_or_message_a_relatives_request(
    client, deceased, django_capture_on_commit_callbacks
):
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    ordinary = DataSubjectRequestFactory(status=Status.AWAITING_APPROVAL, type="delete")
    assert STAFF_ACTIONS["approve"].available(ordinary)
    assert not STAFF_ACTIONS["approve"].available(case.request)
    assert not STAFF_ACTIONS["message"].available(case.request)
    assert STAFF_ACTIONS["deny"].available(case.request)


def test_an_extension_is_explained_to_the_relative_not_the_deceased(
    client, deceased, officer, django_capture_on_commit_callbacks
):
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.dsar_extend(
            request=case.request, actor=officer[0], reason="Waiting for the registry.", days=5
        )
    assert "Waiting for the registry." in str(mails_to(RELATIVE_EMAIL)[-1].body)
    assert mails_to(deceased.email) == []


def test_a_relatives_request_is_never_worked_before_approval(
    client, deceased, django_capture_on_commit_callbacks
):
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    services.dsar_process(request_id=case.request_id)
    request = DataSubjectRequest.objects.get(pk=case.request_id)
    assert (request.status, request.archives.count()) == (Status.AWAITING_APPROVAL, 0)
    assert request.type == RequestType.COPY


def test_a_case_approved_twice_is_refused_the_second_time(
    client, deceased, officer, django_capture_on_commit_callbacks
):
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks, asked="delete")
    approve(case, officer, django_capture_on_commit_callbacks)
    with pytest.raises(relatives.TransitionNotAllowed):
        relatives.relative_case_approve(case=RelativeCase.objects.get(pk=case.pk), actor=officer[0])


# --- Deadlines, as for any request -------------------------------------------------------------


def test_a_relatives_request_warns_staff_before_its_deadline(
    client, deceased, officer, settings, django_capture_on_commit_callbacks
):
    settings.DSAR_WARNING_DAYS = [5]
    staff, _client = officer
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    with time_machine.travel(case.request.due_at - datetime.timedelta(days=4), tick=False):
        sweeps.sweep()
        sweeps.sweep()  # once per threshold
    warnings = mails_to(staff.email)
    assert [m.subject for m in warnings] == [warnings[0].subject]
    assert "1 request due within 5 days" in warnings[0].subject
    assert RELATIVE_EMAIL not in str(warnings[0].body)  # ids only, no personal data
    assert DataSubjectRequest.objects.get(pk=case.request_id).warned_threshold_days == 5


def test_a_relatives_request_past_its_deadline_is_flagged_overdue_once(
    client, deceased, officer, django_capture_on_commit_callbacks
):
    staff, _client = officer
    case = file_case(client, deceased.email, django_capture_on_commit_callbacks)
    with time_machine.travel(case.request.due_at + datetime.timedelta(hours=1), tick=False):
        sweeps.sweep()
        sweeps.sweep()
        request = DataSubjectRequest.objects.get(pk=case.request_id)
        assert request.overdue_flagged_at is not None and request.is_overdue
    flagged = AuditLogEntry.objects.filter(action="dsar.overdue", target_id=str(case.request_id))
    assert flagged.count() == 1
    assert "1 request overdue" in mails_to(staff.email)[-1].subject
