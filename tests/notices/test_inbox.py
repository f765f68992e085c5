"""The dashboard inbox: only one's own messages, the tabs and the category filter, read / unread
/ archive, answering a notice, the e-mail preferences, the header's count and the incident
banner."""

from __future__ import annotations

import re

import factory
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factory.django import DjangoModelFactory

from notices import services
from notices.models import Broadcast, Category, EmailState, Message, Preference
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INBOX = "/dashboard/inbox/"


class MessageFactory(DjangoModelFactory):
    """An unread site message; pass `read_at`, `archived_at`, `requires_response` as needed."""

    class Meta:
        model = Message

    user = factory.SubFactory(UserFactory)
    category = Category.SERVICE_NOTICES
    title = factory.Sequence(lambda n: f"Notice number {n}")
    body = "Something you should know."
    email_state = EmailState.NOT_WANTED


def page(client, url=INBOX, **params):  # type: ignore[no-untyped-def]
    response = client.get(url, params)
    return response, response.content.decode()


def action(client, message, name, next_url=INBOX):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("notices:action", args=[message.pk]), {"action": name, "next": next_url}
    )


# --- Only one's own ----------------------------------------------------------------------------


def test_the_inbox_lists_only_the_users_own_messages(user_client, user):
    MessageFactory(user=user, title="Yours")
    MessageFactory(title="Someone else's")
    _, html = page(user_client)
    assert "Yours" in html
    assert "Someone else" not in html


@pytest.mark.parametrize("how", ["open", "action", "respond"])
def test_another_users_message_is_not_found_and_stays_unchanged(user_client, how):
    theirs = MessageFactory(requires_response=True)
    if how == "open":
        response = user_client.get(reverse("notices:message", args=[theirs.pk]))
    elif how == "action":
        response = action(user_client, theirs, "archive")
    else:
        response = user_client.post(
            reverse("notices:respond", args=[theirs.pk]), {"response": "accepted"}
        )
    theirs.refresh_from_db()
    assert response.status_code == 404
    assert (theirs.read_at, theirs.archived_at, theirs.response) == (None, None, "")


def test_an_id_beyond_the_database_range_is_not_found(user_client):
    response = user_client.get(f"{INBOX}{2**64}/")
    assert response.status_code == 404


def test_the_inbox_needs_a_signed_in_user(client):
    response = client.get(INBOX)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Reading, tabs, filter, pages --------------------------------------------------------------


def test_opening_a_message_marks_it_read_and_shows_category_and_date(user_client, user):
    message = MessageFactory(user=user, category=Category.POLICY_CHANGES, body="Body text.")
    _, html = page(user_client, reverse("notices:message", args=[message.pk]))
    message.refresh_from_db()
    assert message.is_read
    assert "Policy changes" in html and "Body text." in html
    assert f'datetime="{message.created_at:%Y-%m-%d}' in html


def test_the_unread_tab_shows_only_unread_messages(user_client, user):
    MessageFactory(user=user, title="Fresh one")
    MessageFactory(user=user, title="Seen one", read_at=timezone.now())
    _, unread = page(user_client, view="unread")
    _, everything = page(user_client, view="all")
    assert "Fresh one" in unread and "Seen one" not in unread
    assert "Fresh one" in everything and "Seen one" in everything


def test_each_listed_message_says_whether_it_is_read(user_client, user):
    MessageFactory(user=user, title="Fresh one")
    _, html = page(user_client)
    assert re.search(r"Unread</span>\s*<span class=\"badge category-service_notices\">", html)


def test_a_message_marked_unread_is_unread_again(user_client, user):
    message = MessageFactory(user=user, read_at=timezone.now())
    response = action(user_client, message, "unread")
    message.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == INBOX
    assert not message.is_read


def test_an_archived_message_leaves_the_inbox_for_the_archive_and_can_come_back(user_client, user):
    message = MessageFactory(user=user, title="Old news")
    action(user_client, message, "archive")
    _, inbox = page(user_client)
    _, archived = page(user_client, view="archived")
    assert "Old news" not in inbox and "Old news" in archived
    action(user_client, message, "unarchive")
    _, inbox = page(user_client)
    assert "Old news" in inbox


def test_archiving_counts_as_read(user_client, user):
    message = MessageFactory(user=user)
    action(user_client, message, "archive")
    message.refresh_from_db()
    assert message.is_read and message.archived_at is not None


def test_mark_all_read_reads_only_ones_own_messages(user_client, user):
    MessageFactory.create_batch(3, user=user)
    theirs = MessageFactory()
    response = user_client.post(reverse("notices:read_all"), follow=True)
    theirs.refresh_from_db()
    assert services.inbox_counts(user).unread == 0
    assert not theirs.is_read
    assert "3 messages marked read." in response.content.decode()


def test_actions_take_post_only(user_client, user):
    message = MessageFactory(user=user)
    response = user_client.get(reverse("notices:action", args=[message.pk]), {"action": "read"})
    assert response.status_code == 405
    assert user_client.get(reverse("notices:read_all")).status_code == 405


def test_an_unknown_action_is_refused_with_a_message(user_client, user):
    message = MessageFactory(user=user)
    response = action(user_client, message, "delete")
    message.refresh_from_db()
    assert response.status_code == 400
    assert "Choose read, unread, archive or move back" in response.content.decode()
    assert Message.objects.filter(pk=message.pk).exists()


def test_the_next_page_after_an_action_stays_on_this_site(user_client, user):
    message = MessageFactory(user=user)
    response = action(user_client, message, "read", next_url="https://evil.example/")
    assert response["Location"] == INBOX


def test_the_category_filter_shows_only_that_category(user_client, user):
    MessageFactory(user=user, title="About a request", category=Category.REQUEST_UPDATES)
    MessageFactory(user=user, title="About the policy", category=Category.POLICY_CHANGES)
    _, html = page(user_client, category=Category.REQUEST_UPDATES)
    assert "About a request" in html
    assert "About the policy" not in html


def test_an_unknown_filter_is_refused_with_a_message(user_client, user):
    MessageFactory(user=user, title="Still listed")
    response, html = page(user_client, category="marketing")
    assert response.status_code == 400
    assert "That filter is not valid" in html
    assert "Still listed" in html


def test_the_inbox_is_paginated_and_the_pages_keep_the_filter(user_client, user):
    MessageFactory.create_batch(25, user=user, category=Category.POLICY_CHANGES)
    _, first = page(user_client, category=Category.POLICY_CHANGES)
    _, second = page(user_client, category=Category.POLICY_CHANGES, page=2)
    assert first.count('<li class="inbox-item') == 20
    assert second.count('<li class="inbox-item') == 5
    assert "category=policy_changes&amp;page=2" in first


@pytest.mark.parametrize("link", ["javascript:alert(1)", "//elsewhere.example/x", "dashboard/"])
def test_an_unsafe_link_is_not_shown(user_client, user, link):
    message = MessageFactory(user=user, link=link)
    _, html = page(user_client, reverse("notices:message", args=[message.pk]))
    assert f'href="{link}"' not in html and "javascript:" not in html


def test_a_message_links_to_its_page_on_this_site(user_client, user):
    message = MessageFactory(user=user, link="/dashboard/requests/")
    _, html = page(user_client, reverse("notices:message", args=[message.pk]))
    assert 'href="/dashboard/requests/"' in html


# --- The header and the security banner --------------------------------------------------------


def test_the_header_says_how_many_messages_are_unread(user_client, user):
    MessageFactory.create_batch(3, user=user)
    MessageFactory(user=user, read_at=timezone.now())
    MessageFactory()  # someone else's
    _, html = page(user_client, reverse("dashboard:home"))
    assert re.search(
        r"Inbox <span[^>]*>3</span><span class=\"visually-hidden\"> \(3 unread\)", html
    )


def test_the_header_shows_no_count_when_all_is_read(user_client, user):
    MessageFactory(user=user, read_at=timezone.now())
    _, html = page(user_client, reverse("dashboard:home"))
    assert "unread)" not in html


def test_a_page_without_the_header_does_not_count_messages(user_client):
    with CaptureQueriesContext(connection) as queries:
        user_client.get(reverse("notices:latest_incident"))  # a redirect: nothing rendered
    counted = [q for q in queries if "COUNT(" in q["sql"].upper()]
    assert counted == []


def test_an_unread_security_incident_shows_a_banner_on_every_page(user_client, user):
    MessageFactory(user=user, category=Category.SECURITY_INCIDENTS)
    for url in (reverse("dashboard:home"), reverse("dsar:list"), INBOX):
        _, html = page(user_client, url)
        assert 'class="incident-banner"' in html


def test_other_unread_categories_show_no_banner(user_client, user):
    MessageFactory(user=user, category=Category.POLICY_CHANGES)
    _, html = page(user_client, reverse("dashboard:home"))
    assert "incident-banner" not in html


def test_the_banner_leads_to_the_latest_unread_incident_and_goes_once_it_is_read(user_client, user):
    MessageFactory(user=user, category=Category.SECURITY_INCIDENTS, read_at=timezone.now())
    latest = MessageFactory(user=user, category=Category.SECURITY_INCIDENTS)
    response = user_client.get(reverse("notices:latest_incident"))
    assert response["Location"] == reverse("notices:message", args=[latest.pk])
    _, opened = page(user_client, response["Location"])
    _, after = page(user_client, reverse("dashboard:home"))
    assert "incident-banner" not in opened
    assert "incident-banner" not in after


def test_the_banner_link_without_an_unread_incident_leads_to_the_incidents(user_client):
    response = user_client.get(reverse("notices:latest_incident"))
    assert response["Location"] == f"{INBOX}?category=security_incidents"


# --- Answering a notice ------------------------------------------------------------------------


def respond(client, message, answer):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("notices:respond", args=[message.pk]), {"response": answer}, follow=True
    )


def test_a_notice_asking_for_an_answer_offers_accept_and_object(user_client, user):
    message = MessageFactory(user=user, requires_response=True)
    _, html = page(user_client, reverse("notices:message", args=[message.pk]))
    assert 'value="accepted">Accept</button>' in html
    assert 'value="objected" class="secondary">Object</button>' in html


def test_an_answer_is_recorded_and_shown_with_its_date(user_client, user):
    message = MessageFactory(user=user, requires_response=True)
    response = respond(user_client, message, "objected")
    message.refresh_from_db()
    html = response.content.decode()
    assert message.response == "objected" and message.responded_at is not None
    assert "You <strong>objected</strong> on" in html
    assert 'value="accepted"' not in html


def test_a_second_different_answer_is_refused_with_a_message(user_client, user):
    message = MessageFactory(user=user, requires_response=True)
    respond(user_client, message, "accepted")
    response = respond(user_client, message, "objected")
    message.refresh_from_db()
    assert message.response == "accepted"
    assert "You have already answered this notice." in response.content.decode()


def test_a_notice_that_asks_nothing_cannot_be_answered(user_client, user):
    message = MessageFactory(user=user)
    response = respond(user_client, message, "accepted")
    message.refresh_from_db()
    assert message.response == ""
    assert "This notice does not ask for an answer." in response.content.decode()


def test_an_answer_other_than_accept_or_object_is_refused(user_client, user):
    message = MessageFactory(user=user, requires_response=True)
    response = respond(user_client, message, "maybe")
    message.refresh_from_db()
    assert response.status_code == 400 and message.response == ""


def test_an_answer_whose_effect_fails_is_not_recorded_and_the_reason_is_shown(
    user_client, user, monkeypatch
):
    from django.core.exceptions import ValidationError

    def refuse(message: Message) -> None:
        raise ValidationError("The consent could not be recorded; try again later.")

    monkeypatch.setitem(services.RESPONSE_HANDLERS, Broadcast.Kind.TRANSFER, [refuse])
    broadcast = Broadcast.objects.create(
        source="transfer:test",
        kind=Broadcast.Kind.TRANSFER,
        category=Category.SERVICE_NOTICES,
        title="A transfer",
        body="B",
        requires_response=True,
    )
    message = MessageFactory(user=user, broadcast=broadcast, requires_response=True)
    response = respond(user_client, message, "accepted")
    message.refresh_from_db()
    assert message.response == ""
    assert "The consent could not be recorded" in response.content.decode()


# --- Preferences -------------------------------------------------------------------------------


def test_mandatory_categories_show_checked_and_disabled_with_the_reason(user_client):
    _, html = page(user_client, reverse("notices:preferences"))
    for name in (Category.SECURITY_INCIDENTS, Category.REQUEST_UPDATES):
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert field and "checked" in field.group(0) and "disabled" in field.group(0)
    assert "the law requires us to tell you about an incident" in html


def test_marketing_is_left_to_the_consent_centre(user_client):
    _, html = page(user_client, reverse("notices:preferences"))
    assert f'href="{reverse("consent:center")}"' in html
    assert 'name="marketing"' not in html


def test_switching_a_category_off_is_saved_and_mandatory_ones_stay_on(user_client, user):
    # Unchecked boxes are simply absent from the post, as a browser sends them.
    response = user_client.post(
        reverse("notices:preferences"), {"account_security": "on", "policy_changes": "on"}
    )
    chosen = dict(user.notice_preferences.values_list("category", "email"))
    assert response.status_code == 302
    assert chosen == {"account_security": True, "policy_changes": True, "service_notices": False}
    assert {p.category for p in services.preferences_for(user) if p.email} >= {
        Category.SECURITY_INCIDENTS,
        Category.REQUEST_UPDATES,
    }


def test_a_switched_off_category_arrives_in_the_inbox_but_not_by_email(
    user_client, user, django_capture_on_commit_callbacks
):
    user_client.post(reverse("notices:preferences"), {"account_security": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=user, category=Category.POLICY_CHANGES, title="New policy", body="B")
    assert services.inbox_counts(user).unread == 1
    assert mail.outbox == []


@pytest.mark.parametrize("category", [Category.SECURITY_INCIDENTS, Category.REQUEST_UPDATES])
def test_mandatory_categories_are_always_emailed(
    user, category, django_capture_on_commit_callbacks
):
    # Even a "no" stored for it (say, from before it became mandatory) does not stop the e-mail.
    Preference.objects.create(user=user, category=category, email=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=user, category=category, title="Important", body="Read this.")
    assert [m.to for m in mail.outbox] == [[user.email]]
