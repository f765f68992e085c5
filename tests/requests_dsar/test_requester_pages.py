"""The requester's pages: the list, a new request, one request's page and its results."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_dsar import services
from requests_dsar.models import (
    AppliedCorrection,
    DataSubjectRequest,
    ExportArchive,
    RequestMessage,
    Status,
)
from tests.factories import DEFAULT_PASSWORD, LoginEventFactory, ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def reauthenticated(user_client):
    """A signed-in client that has just entered its password again (allauth's reauthentication)."""
    response = user_client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return user_client


def file(user, type="question", details="Which data do you hold?", **kwargs):
    kwargs.setdefault("reauthenticated", True)
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, details=details, **kwargs
    )
    return request


def fulfil(user, type="copy", **kwargs):
    """A request carried out by the worker, as the eager task would after commit."""
    request = file(user, type=type, details="", **kwargs)
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    return request


def detail(request):
    return reverse("dsar:detail", args=[request.public_id])


def text_of(response) -> str:
    """The page's visible text, whitespace collapsed, for asserting on sentences."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- The list ------------------------------------------------------------------------------------


def test_the_list_shows_only_ones_own_requests(user, user_client):
    mine = file(user)
    theirs = file(UserFactory())
    page = user_client.get(reverse("dsar:list")).content.decode()
    assert detail(mine) in page
    assert detail(theirs) not in page


@time_machine.travel(datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_the_list_shows_the_due_date_and_days_left(user, user_client):
    file(user)  # verified now: due at the end of 17 March (15 days)
    page = text_of(user_client.get(reverse("dsar:list")))
    assert "17 Mar 2026" in page
    assert "15 days" in page


def test_the_list_shows_that_the_clock_is_paused(user, user_client):
    request = file(user)
    services.dsar_ask_clarification(request=request, actor=UserFactory(), message="Which year?")
    page = text_of(user_client.get(reverse("dsar:list")))
    assert "Clock paused" in page


def test_the_dashboard_and_its_navigation_link_to_the_requests(user_client):
    page = user_client.get(reverse("dashboard:home")).content.decode()
    assert page.count(f'href="{reverse("dsar:list")}"') == 2  # the nav link and the card
    assert f'href="{reverse("dsar:new")}"' in page


# --- A new request -------------------------------------------------------------------------------


def test_the_chooser_explains_every_kind_of_request(user_client):
    page = user_client.get(reverse("dsar:new")).content.decode()
    for kind in DataSubjectRequest._meta.get_field("type").choices:
        assert reverse("dsar:create", args=[kind[0]]) in page


def test_filing_a_request_asks_for_the_password_again(user, user_client):
    response = user_client.post(
        reverse("dsar:create", args=["question"]), {"details": "Which data do you hold?"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not DataSubjectRequest.objects.exists()


def test_the_request_is_filed_once_the_password_is_entered_again(user, user_client):
    asked = user_client.post(reverse("dsar:create", args=["question"]), {"details": "Which data?"})
    # allauth carries out the suspended request once the password is entered again.
    response = user_client.post(asked["Location"], {"password": DEFAULT_PASSWORD})
    request = DataSubjectRequest.objects.get()
    assert response["Location"] == detail(request)
    assert (request.status, request.verification_method) == (Status.PENDING, "reauthentication")


def test_a_request_from_a_reauthenticated_user_is_verified_and_its_clock_runs(
    user, reauthenticated
):
    response = reauthenticated.post(reverse("dsar:create", args=["access"]), {"extent": "all"})
    request = DataSubjectRequest.objects.get(subject=user)
    assert response["Location"] == detail(request)
    assert request.status == Status.PENDING and request.due_at is not None


def test_chosen_categories_become_the_scope(user, reauthenticated):
    reauthenticated.post(
        reverse("dsar:create", args=["copy"]), {"extent": "some", "categories": ["profile"]}
    )
    assert DataSubjectRequest.objects.get().scope == {"categories": ["profile"]}


def test_an_unknown_category_is_refused_and_nothing_is_saved(reauthenticated):
    response = reauthenticated.post(
        reverse("dsar:create", args=["copy"]), {"extent": "some", "categories": ["nonsense"]}
    )
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_overlong_details_are_refused_and_nothing_is_saved(reauthenticated):
    response = reauthenticated.post(
        reverse("dsar:create", args=["question"]), {"details": "x" * 5001}
    )
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_a_question_needs_its_text_and_the_error_is_announced(reauthenticated):
    response = reauthenticated.post(reverse("dsar:create", args=["question"]), {"details": " "})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in page and 'href="#id_details"' in page
    assert "autofocus" in page


def test_a_deletion_must_be_confirmed(reauthenticated):
    response = reauthenticated.post(reverse("dsar:create", args=["delete"]), {"extent": "all"})
    assert response.status_code == 400
    assert not DataSubjectRequest.objects.exists()


def test_the_deletion_form_warns_and_explains_the_cool_off(user_client, settings):
    settings.DSAR_ERASURE_COOL_OFF_DAYS = 9
    page = text_of(user_client.get(reverse("dsar:create", args=["delete"])))
    assert "Deleted information cannot be restored" in page
    assert "9 days to change your mind" in page


def test_a_confirmed_deletion_of_the_whole_account_is_filed_with_its_cool_off(
    user, reauthenticated
):
    reauthenticated.post(
        reverse("dsar:create", args=["delete"]), {"extent": "all", "confirm": "on"}
    )
    request = DataSubjectRequest.objects.get()
    assert (request.type, request.scope) == ("delete", {})
    assert request.act_after > timezone.now() + datetime.timedelta(days=6)


def test_a_correction_lists_each_field_and_its_new_value(user, reauthenticated):
    data = {
        "changes-TOTAL_FORMS": "3",
        "changes-INITIAL_FORMS": "0",
        "changes-0-field": "nickname",
        "changes-0-value": "dee",
        "changes-1-field": "email",
        "changes-1-value": "My address is dee@example.org",
    }
    reauthenticated.post(reverse("dsar:create", args=["correct"]), data)
    assert DataSubjectRequest.objects.get().scope["changes"] == [
        {"field": "nickname", "value": "dee"},
        {"field": "email", "value": "My address is dee@example.org"},
    ]


def test_a_value_the_profile_refuses_is_shown_on_the_form_and_nothing_is_saved(reauthenticated):
    data = {
        "changes-TOTAL_FORMS": "1",
        "changes-INITIAL_FORMS": "0",
        "changes-0-field": "birth_date",
        "changes-0-value": "2999-01-01",
    }
    response = reauthenticated.post(reverse("dsar:create", args=["supplement"]), data)
    assert response.status_code == 400
    assert "Date of birth" in text_of(response)
    assert not DataSubjectRequest.objects.exists()


def test_a_second_request_of_the_same_kind_joins_the_open_one(user, reauthenticated):
    first = file(user, details="First question")
    response = reauthenticated.post(
        reverse("dsar:create", args=["question"]), {"details": "Second thought"}, follow=True
    )
    assert DataSubjectRequest.objects.count() == 1
    assert RequestMessage.objects.get(request=first).body == "Second thought"
    assert "added your details to it" in text_of(response)


# --- One request's page --------------------------------------------------------------------------


def test_another_user_gets_404_on_every_page_of_a_request(user):
    request = file(user)
    stranger = Client()
    stranger.force_login(UserFactory())
    urls = [
        detail(request),
        reverse("dsar:cancel", args=[request.public_id]),
        reverse("dsar:data", args=[request.public_id, "profile"]),
    ]
    assert [stranger.get(url).status_code for url in urls] == [404, 404, 404]
    posted = stranger.post(reverse("dsar:message", args=[request.public_id]), {"body": "hi"})
    assert posted.status_code == 404


def test_the_page_shows_status_dates_and_history(user, user_client):
    request = file(user)
    page = text_of(user_client.get(detail(request)))
    assert "Received" in page and "Answer due by" in page
    assert request.due_at.strftime("%-d %B %Y") in page
    assert "Signed in and re-authenticated" in page  # the verification event in the history


def test_the_history_reads_newest_first_like_every_history(user, user_client):
    request = fulfil(user)
    html = user_client.get(detail(request)).content.decode()
    history = html[html.index('id="h-history"') :]
    times = re.findall(r'<time datetime="([^"]+)"', history)
    steps = re.findall(r"<li>\s*<time[^>]*>[^<]*</time>\s*<span>([^<]+)", history)
    assert len(times) >= 3 and times == sorted(times, reverse=True)
    assert steps[0].strip() == "Completed" and steps[-1].strip() != "Completed"
    assert "Newest first." in history


def test_a_message_to_the_privacy_team_is_posted(user, user_client):
    request = file(user)
    user_client.post(reverse("dsar:message", args=[request.public_id]), {"body": "Any news?"})
    message = RequestMessage.objects.get(request=request)
    assert (message.body, message.from_staff, message.author) == ("Any news?", False, user)


def test_answering_a_clarification_restarts_the_clock(user, user_client):
    request = file(user)
    services.dsar_ask_clarification(request=request, actor=UserFactory(), message="Which year?")
    user_client.post(reverse("dsar:message", args=[request.public_id]), {"body": "2024"})
    request.refresh_from_db()
    assert (request.status, request.paused_at) == (Status.PENDING, None)


def test_an_empty_message_is_refused(user, user_client):
    request = file(user)
    response = user_client.post(reverse("dsar:message", args=[request.public_id]), {"body": ""})
    assert response.status_code == 400
    assert not RequestMessage.objects.exists()


def test_a_request_can_be_cancelled_after_confirming(user, user_client):
    request = file(user)
    confirm = user_client.get(reverse("dsar:cancel", args=[request.public_id]))
    assert "Yes, cancel the request" in text_of(confirm)
    user_client.post(reverse("dsar:cancel", args=[request.public_id]))
    request.refresh_from_db()
    assert request.status == Status.CANCELLED


def test_a_deletion_being_carried_out_cannot_be_cancelled(user, user_client):
    request = file(user, type="delete", details="")
    DataSubjectRequest.objects.filter(pk=request.pk).update(status=Status.IN_PROGRESS)
    page = text_of(user_client.get(detail(request)))
    user_client.post(reverse("dsar:cancel", args=[request.public_id]))
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert "can no longer be cancelled" in page


def test_a_deletion_shows_when_it_starts_and_that_it_can_be_cancelled_until_then(user, user_client):
    request = file(user, type="delete", details="")
    page = text_of(user_client.get(detail(request)))
    assert f"Deletion starts on {request.act_after:%-d %B %Y}" in page
    assert "You can cancel until then" in page
    # One cancel button, in the deletion's own card.
    html = user_client.get(detail(request)).content.decode()
    assert html.count(f'href="{reverse("dsar:cancel", args=[request.public_id])}"') == 1
    assert "Cancel the deletion" in html


def test_another_request_has_its_one_cancel_button(user, user_client):
    request = file(user)
    html = user_client.get(detail(request)).content.decode()
    assert html.count(f'href="{reverse("dsar:cancel", args=[request.public_id])}"') == 1


def test_a_denial_shows_the_reason_and_the_legal_ground(user, user_client):
    request = file(user)
    services.dsar_deny(
        request=request,
        actor=UserFactory(is_staff=True),
        reason="legal_exemption",
        exemption="criminal_justice",
        note="An investigation is ongoing.",
    )
    page = text_of(user_client.get(detail(request)))
    assert "A legal exemption applies" in page
    assert "(3) Criminal investigation, prosecution or trial" in page
    assert "An investigation is ongoing." in page


def test_a_completed_copy_links_to_its_download(user, user_client):
    request = fulfil(user, type="copy")
    page = user_client.get(detail(request)).content.decode()
    assert request.status == Status.COMPLETED
    links_prefix = reverse("dsar_files:archive", args=["TOKEN"]).split("TOKEN")[0]
    assert re.search(rf'href="{links_prefix}[^"]+">Download the archive', page)


def test_an_expired_copy_says_so_instead_of_linking(user, user_client):
    request = fulfil(user, type="copy")
    ExportArchive.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    page = text_of(user_client.get(detail(request)))
    assert "no longer available" in page
    assert "Download the archive" not in page


def test_a_transfer_token_is_shown_once_with_the_pull_instructions(user, reauthenticated):
    request = fulfil(user, type="transfer")
    url = reverse("dsar:transfer_token", args=[request.public_id])
    first = text_of(reauthenticated.post(url, follow=True))
    token = re.search(r"\bppt_[\w-]+", first).group(0)
    assert f"Authorization: Transfer {token}" in first
    assert "/api/v1/transfers/pull/" in first
    assert token not in text_of(reauthenticated.get(detail(request)))


def test_issuing_a_transfer_token_asks_for_the_password_again(user, user_client):
    request = fulfil(user, type="transfer")
    response = user_client.post(reverse("dsar:transfer_token", args=[request.public_id]))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ExportArchive.objects.exclude(pull_token_hash="").exists()


def test_access_data_is_shown_online_by_category(user, user_client):
    ProfileFactory(user=user, nickname="dana-the-tester")
    request = fulfil(user, type="access")
    page = text_of(user_client.get(detail(request)))
    profile = text_of(user_client.get(reverse("dsar:data", args=[request.public_id, "profile"])))
    assert "Your data" in page
    assert "dana-the-tester" in profile


def test_access_data_is_paginated(user, user_client, monkeypatch):
    from requests_dsar import views

    monkeypatch.setattr(views, "DATA_PAGE_SIZE", 2)
    LoginEventFactory.create_batch(3, user=user, browser="Firefox 128.0")
    request = fulfil(user, type="access", scope={"categories": ["login_history"]})
    url = reverse("dsar:data", args=[request.public_id, "login_history"])
    first, second = user_client.get(url), user_client.get(f"{url}?page=2")
    assert (len(first.context["rows"]), first.context["has_next"]) == (2, True)
    assert (len(second.context["rows"]), second.context["has_next"]) == (1, False)


def test_a_page_number_beyond_any_possible_page_is_not_found(user, user_client):
    request = fulfil(user, type="access", scope={"categories": ["login_history"]})
    url = reverse("dsar:data", args=[request.public_id, "login_history"])
    assert user_client.get(f"{url}?page=100000000000000000000").status_code == 404


def test_a_category_outside_the_access_request_is_not_shown(user, user_client):
    request = fulfil(user, type="access", scope={"categories": ["login_history"]})
    url = reverse("dsar:data", args=[request.public_id, "profile"])
    assert user_client.get(url).status_code == 404


def test_applied_corrections_are_listed_before_and_after(user, user_client):
    request = file(user, type="question")
    AppliedCorrection.objects.create(
        request=request, field="nickname", before="old-nick", after="new-nick"
    )
    page = text_of(user_client.get(detail(request)))
    assert "Changes made" in page
    assert "old-nick" in page and "new-nick" in page


def test_the_page_watches_for_a_change_while_the_worker_is_busy(user, user_client):
    request = file(user, type="copy", details="")
    page = user_client.get(detail(request)).content.decode()
    unchanged = user_client.get(f"{detail(request)}?poll=pending", headers={"HX-Request": "true"})
    moved = user_client.get(f"{detail(request)}?poll=in_progress", headers={"HX-Request": "true"})
    assert 'hx-trigger="every' in page
    assert unchanged.status_code == 204
    assert moved.headers["HX-Refresh"] == "true"


@pytest.mark.parametrize("name", ["list", "new", "create", "detail", "cancel"])
def test_pages_carry_no_inline_script_or_style(user, user_client, name):
    request = file(user)
    url = {
        "list": reverse("dsar:list"),
        "new": reverse("dsar:new"),
        "create": reverse("dsar:create", args=["delete"]),
        "detail": detail(request),
        "cancel": reverse("dsar:cancel", args=[request.public_id]),
    }[name]
    page = user_client.get(url).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page)


def test_a_request_filed_by_api_is_confirmed_with_the_code_on_its_page(
    user, user_client, django_capture_on_commit_callbacks
):
    from django.core import mail

    from requests_dsar import intake

    with django_capture_on_commit_callbacks(execute=True):
        request, _created = intake.api_request_submit(
            user=user, type="question", details="Hi", scope=None
        )
    # The code e-mail, whichever way the inbox notice of the request was ordered around it.
    code = next(filter(None, (re.search(r"^\s*(\d{6})\s*$", m.body, re.M) for m in mail.outbox)))
    wrong = user_client.post(reverse("dsar:verify", args=[request.public_id]), {"code": "x"})
    user_client.post(reverse("dsar:verify", args=[request.public_id]), {"code": code.group(1)})
    request.refresh_from_db()
    assert wrong.status_code == 400
    assert (request.status, request.verification_method) == (Status.PENDING, "email_code")
