"""Telling users about a material policy version: a notices broadcast created with the
publication, reaching each earlier user once, in the inbox and by e-mail as they chose."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.models import PolicyVersion
from notices import services as notices
from notices.fanout import broadcast_progress
from notices.models import Broadcast, Category, EmailState, Message
from notices.tasks import fan_out_broadcast, sweep_notices
from tests.consent.policy_factories import TEXT, first_and_second, published
from tests.factories import PrivacyOfficerFactory, PurposeFactory, UserFactory
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

NEW_TEXT = TEXT + "\n## Location\n\nWe use your location only with your consent.\n"
SUMMARY = "We added a section about location."


def recipients_of_outbox() -> list[str]:
    return [address for message in mail.outbox for address in message.to]


@pytest.fixture
def users():
    return [UserFactory() for _ in range(5)]


def publish_material(**fields) -> PolicyVersion:  # type: ignore[no-untyped-def]
    """Version 1.0 in effect since last month, then a material 2.0 published today."""
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    published("1.0", last_updated=month_ago, effective_on=month_ago)
    values = {"text": NEW_TEXT, "is_material": True, "summary_of_changes": SUMMARY, **fields}
    return published("2.0", **values)


def notice_of(version: PolicyVersion) -> Broadcast:
    return Broadcast.objects.get(source=f"policy:{version.pk}")


# --- Who is told, and how ---------------------------------------------------------------------


def test_every_earlier_user_is_told_once_in_the_inbox_and_by_email(
    users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material()
    told = Message.objects.filter(broadcast=notice_of(version), category=Category.POLICY_CHANGES)
    assert sorted(told.values_list("user_id", flat=True)) == sorted(u.pk for u in users)
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)
    assert all(len(message.to) == 1 for message in mail.outbox)


def test_an_unverified_address_is_told_in_the_inbox_only_and_a_closed_account_not_at_all(
    django_capture_on_commit_callbacks,
):
    unverified = UserFactory(verified=False)
    closed = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        publish_material()
    assert unverified.messages.get().email_state == EmailState.NO_ADDRESS
    assert not closed.messages.exists()
    assert mail.outbox == []


def test_a_user_who_switched_off_policy_emails_is_told_in_the_inbox_only(
    users, django_capture_on_commit_callbacks
):
    quiet = users[0]
    notices.preferences_update(user=quiet, choices={Category.POLICY_CHANGES: False})
    with django_capture_on_commit_callbacks(execute=True):
        publish_material()
    assert quiet.messages.get().email_state == EmailState.NOT_WANTED
    assert quiet.email not in recipients_of_outbox()
    assert len(mail.outbox) == len(users) - 1


def test_users_who_join_after_publication_are_not_told():
    early = UserFactory()
    version = publish_material()  # the fan-out has not started yet
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        late = UserFactory()
    fan_out_broadcast(notice_of(version).pk)
    assert recipients_of_outbox() == [early.email]
    assert early.messages.count() == 1 and not late.messages.exists()


def test_a_version_that_is_not_material_tells_nobody(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first_and_second(second_text=NEW_TEXT, material=False)
    assert not Broadcast.objects.exists() and not Message.objects.exists()
    assert mail.outbox == []


# --- What they are told ---------------------------------------------------------------------------


def test_the_notice_says_what_changes_when_and_where_without_personal_data(
    users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material()
    message = Message.objects.filter(user=users[0]).get()
    email = mail.outbox[0]
    assert SUMMARY in message.body and "Version 2.0 takes effect on" in message.body
    assert message.link == reverse("privacy:policy_version", args=["2.0"])
    assert f"{reverse('privacy:policy_diff')}?from=1.0&to=2.0" in email.body
    assert message.title in email.subject and message.link in email.body
    # The same words for everyone: nobody's address or name is in them.
    assert Message.objects.values("body").distinct().count() == 1
    assert email.to[0] not in email.body
    assert notice_of(version).kind == Broadcast.Kind.POLICY


def test_the_notice_links_to_the_version_page_which_opens_despite_the_reconsent_prompt(
    user, user_client, django_capture_on_commit_callbacks
):
    PurposeFactory(key="newsletter")
    with django_capture_on_commit_callbacks(execute=True):
        publish_material()
    message = user.messages.get()
    # The interstitial still asks for the new choices first on dashboard pages...
    dashboard = user_client.get(reverse("dashboard:home"))
    assert dashboard.status_code == 302
    assert dashboard.url.startswith(reverse("consent:reconsent"))
    # ...while the policy version the notice points to reads as it is.
    page = user_client.get(message.link)
    assert page.status_code == 200 and SUMMARY in page.content.decode()


# --- Once, whatever happens to the workers -----------------------------------------------------


def test_the_fanout_starts_after_the_publication_commits(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        version = publish_material()
    assert notice_of(version).state == Broadcast.State.SENDING
    assert not Message.objects.exists()  # nothing is sent for a publication not yet committed
    for callback in callbacks:
        callback()
    assert Message.objects.count() == len(users)


def test_running_the_fanout_again_tells_nobody_twice(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material()
    fan_out_broadcast(notice_of(version).pk)
    fan_out_broadcast.delay(notice_of(version).pk)  # a redelivered task
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)
    assert Message.objects.count() == len(users)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the task gets to clean up."""


def test_a_fanout_resumed_after_a_killed_worker_sends_no_duplicate(users, monkeypatch):
    version = publish_material()
    original, calls = mail.EmailMessage.send, []

    def dies_at_the_third(message, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(message)
        if len(calls) == 3:
            raise WorkerKilled
        return original(message, *args, **kwargs)

    monkeypatch.setattr("django.core.mail.EmailMessage.send", dies_at_the_third)
    with pytest.raises(WorkerKilled):
        fan_out_broadcast(notice_of(version).pk)
    fan_out_broadcast(notice_of(version).pk)  # redelivered (acks_late)
    sent = recipients_of_outbox()
    assert len(sent) == len(set(sent)) == len(users) - 1
    # The one it died on is in doubt, shown to staff, and not sent again.
    assert broadcast_progress(notice_of(version)).sending == 1


def test_the_notices_sweep_restarts_a_fanout_whose_task_was_lost(users):
    version = publish_material()  # published, but the broker lost the task
    sweep_notices()
    assert mail.outbox == []  # too recent: it may still be running
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20)):
        sweep_notices()
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)
    assert notice_of(version).state == Broadcast.State.DONE


# --- Staff see how far it went ------------------------------------------------------------------


def test_the_publish_confirmation_and_the_version_page_show_the_progress(
    users, django_capture_on_commit_callbacks
):
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    published("1.0", last_updated=month_ago, effective_on=month_ago)
    client = signed_in(PrivacyOfficerFactory())
    version = PolicyVersion.objects.create(
        version="2.0",
        text=NEW_TEXT,
        last_updated=timezone.localdate(),
        effective_on=timezone.localdate(),
        is_material=True,
        summary_of_changes=SUMMARY,
    )
    publish = reverse("admin:consent_policyversion_publish", args=[version.pk])
    with django_capture_on_commit_callbacks(execute=True):
        confirmation = client.post(publish, follow=True).content.decode()
    told = len(users) + 1  # the officer had an account before publication too
    assert f"Notice to users: Sending (resumes on its own): 0 of {told} users told" in confirmation
    page = client.get(reverse("admin:consent_policyversion_change", args=[version.pk]))
    assert f"Done: {told} of {told} users told in their inbox" in page.content.decode()
