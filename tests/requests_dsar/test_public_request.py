"""The signed-out request form: it never reveals whether an account exists, and only the code
e-mailed to the account confirms a request."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_dsar.models import DataSubjectRequest, Status
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
FORM = "/privacy/request/"
CODE = re.compile(r"^\s*(\d{6})\s*$", re.M)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def submit(client, email, type="copy", details=""):
    return client.post(FORM, {"email": email, "type": type, "details": details})


def verify(client, response, code):
    return client.post(response["Location"], {"code": code})


def comparable(html: str) -> str:
    """A page with what differs on every load (ids, the masked CSRF token) blanked out."""
    return CSRF.sub("CSRF", UUID.sub("ID", html))


def code_from_mail() -> str:
    """The code of the latest code e-mail (the inbox notice of the request may follow it)."""
    found = next(filter(None, (CODE.search(str(m.body)) for m in reversed(mail.outbox))), None)
    assert found, "no code in the e-mail"
    return found.group(1)


@pytest.fixture
def submitted(client, user, django_capture_on_commit_callbacks):
    """A copy request filed signed out for `user`, its code e-mailed."""
    with django_capture_on_commit_callbacks(execute=True):
        return submit(client, user.email.upper())


def test_the_form_is_open_without_signing_in(client):
    response = client.get(FORM)
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_the_answer_is_the_same_with_or_without_an_account(client, user):
    with_account = submit(client, user.email)
    without = submit(client, "nobody@example.org")
    pages = [
        comparable(client.get(r["Location"]).content.decode()) for r in (with_account, without)
    ]
    assert (with_account.status_code, without.status_code) == (302, 302)
    assert UUID.sub("ID", with_account["Location"]) == UUID.sub("ID", without["Location"])
    assert pages[0] == pages[1]


def test_without_an_account_nothing_is_filed_and_no_mail_is_sent(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, "nobody@example.org")
    assert not DataSubjectRequest.objects.exists()
    assert mail.outbox == []


def test_an_inactive_account_is_treated_as_none(client):
    inactive = UserFactory(is_active=False)
    submit(client, inactive.email)
    assert not DataSubjectRequest.objects.exists()


def test_an_account_is_found_case_insensitively_and_the_code_goes_to_its_address(submitted, user):
    request = DataSubjectRequest.objects.get()
    assert (request.subject, request.requester, request.status) == (
        user,
        None,
        Status.IDENTITY_UNVERIFIED,
    )
    assert mail.outbox[-1].to == [user.email]


def test_the_code_from_the_email_confirms_the_request(client, submitted):
    response = verify(client, submitted, code_from_mail())
    request = DataSubjectRequest.objects.get()
    assert response.status_code == 200
    assert (request.status, request.verification_method) == (Status.PENDING, "email_code")
    assert "your request is confirmed" in response.content.decode()


def test_wrong_codes_are_limited(client, submitted, settings):
    settings.DSAR_CODE_MAX_ATTEMPTS = 3
    answers = [verify(client, submitted, "000000") for _ in range(3)]
    last = verify(client, submitted, code_from_mail())
    assert [a.context["result"] for a in answers] == ["wrong", "wrong", "locked"]
    assert last.context["result"] == "locked"
    assert DataSubjectRequest.objects.get().status == Status.IDENTITY_UNVERIFIED


def test_an_expired_code_is_refused(client, submitted, settings):
    later = timezone.now() + datetime.timedelta(minutes=settings.DSAR_CODE_TTL_MINUTES + 1)
    with time_machine.travel(later):
        response = verify(client, submitted, code_from_mail())
    assert (response.status_code, response.context["result"]) == (400, "expired")
    assert DataSubjectRequest.objects.get().status == Status.IDENTITY_UNVERIFIED


def test_the_code_page_of_no_account_answers_as_a_real_one_does(client, user, settings):
    settings.DSAR_CODE_MAX_ATTEMPTS = 2
    real, decoy = submit(client, user.email), submit(client, "nobody@example.org", type="delete")
    results = [
        [verify(client, response, "000000").context["result"] for _ in range(3)]
        for response in (real, decoy)
    ]
    assert results[0] == results[1] == ["wrong", "locked", "locked"]


def test_an_unknown_request_id_never_verifies(client):
    response = client.post(reverse("dsar_public:verify", args=[uuid.uuid4()]), {"code": "123456"})
    assert response.status_code == 400
    assert "Check your e-mail" in response.content.decode()


def test_a_question_needs_its_text_with_or_without_an_account(client, user):
    answers = [submit(client, email, type="question") for email in (user.email, "no@example.org")]
    assert [a.status_code for a in answers] == [400, 400]
    assert not DataSubjectRequest.objects.exists()


def test_a_correction_cannot_be_filed_signed_out(client, user):
    response = submit(client, user.email, type="correct", details="My name is wrong.")
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_submissions_are_rate_limited_per_address(client, settings):
    settings.DSAR_PUBLIC_REQUESTS_PER_HOUR = 2
    answers = [submit(client, "nobody@example.org").status_code for _ in range(3)]
    other_place = submit(Client(REMOTE_ADDR="198.51.100.9"), "nobody@example.org")
    assert answers == [302, 302, 429]
    assert other_place.status_code == 302


def test_code_attempts_are_rate_limited_per_address(client, settings):
    settings.DSAR_PUBLIC_CODE_TRIES_PER_HOUR = 2
    page = reverse("dsar_public:verify", args=[uuid.uuid4()])
    answers = [client.post(page, {"code": "123456"}).status_code for _ in range(3)]
    assert answers == [400, 400, 429]
    assert "Too many attempts" in client.post(page, {"code": "1"}).content.decode()


def test_the_rate_limit_ends_after_an_hour(client, settings):
    settings.DSAR_PUBLIC_REQUESTS_PER_HOUR = 1
    submit(client, "nobody@example.org")
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1, minutes=1)):
        assert submit(client, "nobody@example.org").status_code == 302


def test_details_joining_a_confirmed_request_send_no_code_and_look_the_same(
    client, user, django_capture_on_commit_callbacks
):
    from requests_dsar import services

    services.dsar_request_create(subject=user, requester=user, type="copy", reauthenticated=True)
    with django_capture_on_commit_callbacks(execute=True):
        joined = submit(client, user.email, details="Please hurry.")
    unknown = submit(client, "nobody@example.org")
    assert DataSubjectRequest.objects.count() == 1
    assert not any("code" in m.subject.lower() for m in mail.outbox)
    assert comparable(joined["Location"]) == comparable(unknown["Location"])


def test_submitting_again_for_an_account_never_reveals_it_or_touches_its_request(client, user):
    # A repeated submission for a real account must look like one for no account (a new
    # code page each time), and nothing a stranger wrote may reach the open request.
    first = submit(client, user.email, type="question", details="First text")
    second = submit(client, user.email, type="question", details="Stranger's text")
    assert first["Location"] != second["Location"]
    request = DataSubjectRequest.objects.get(subject=user)
    assert not request.messages.exists()
    assert "Stranger" not in request.details


def queued(callbacks) -> list[str]:
    return sorted(callback.func.__self__.name for callback in callbacks)


def test_with_or_without_an_account_the_form_queues_the_same_work(
    client, user, django_capture_on_commit_callbacks
):
    # So that neither the answer's timing nor the broker's traffic tells the two apart.
    with django_capture_on_commit_callbacks() as real:
        submit(client, user.email)
    with django_capture_on_commit_callbacks(execute=True) as decoy:
        submit(client, "nobody@example.org")
    assert (
        queued(decoy)
        == queued(real)
        == [
            "requests_dsar.tasks.notify_requester",
            "requests_dsar.tasks.send_verification_code",
        ]
    )
    assert mail.outbox == []  # the decoy's tasks find no request and send nothing


def test_the_code_never_travels_as_a_task_argument(
    client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit(client, user.email)
    code = code_from_mail()
    arguments = [arg for callback in callbacks for arg in callback.args]
    assert code not in [str(arg) for arg in arguments]
    assert DataSubjectRequest.objects.get().pk in arguments
