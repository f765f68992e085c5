"""Publishing policy versions: immutability, the admin, the audit row and the e-mail fan-out."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from consent.models import PolicyNotice, PolicyVersion
from consent.policies import policy_publish
from consent.policy_notices import notice_progress, policy_notify_step
from consent.tasks import notify_policy_published, sweep_policy_notices
from requests_dsar.models import AuditLogEntry
from tests.consent.policy_factories import TEXT, draft, first_and_second, published
from tests.factories import PrivacyOfficerFactory, SupportAgentFactory, UserFactory
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

NEW_TEXT = TEXT + "\n## Location\n\nWe use your location only with your consent.\n"


# --- A published version never changes -----------------------------------------------------------


def test_published_version_refuses_a_save():
    version = published("1.0")
    version.text = "Rewritten after the fact."
    with pytest.raises(PermissionError):
        version.save()
    assert PolicyVersion.objects.get(pk=version.pk).text == TEXT


def test_published_version_refuses_bulk_update_and_delete():
    version = published("1.0")
    with pytest.raises(PermissionError):
        PolicyVersion.objects.filter(pk=version.pk).update(text="Rewritten.")
    with pytest.raises(PermissionError):
        PolicyVersion.objects.filter(pk=version.pk).delete()
    with pytest.raises(PermissionError):
        version.delete()
    assert PolicyVersion.objects.get(pk=version.pk).text == TEXT


def test_draft_can_be_edited_and_deleted():
    version = draft("1.0")
    version.text = "Better wording."
    version.save()
    version.delete()
    assert not PolicyVersion.objects.exists()


def test_deleting_the_publishers_account_keeps_the_version():
    officer = PrivacyOfficerFactory()
    version = published("1.0", actor=officer)
    officer.delete()
    version = PolicyVersion.objects.get(pk=version.pk)
    assert version.is_published and version.published_by is None and version.text == TEXT


@pytest.mark.integration
def test_postgresql_refuses_a_raw_update_of_a_published_version():
    assert connection.vendor == "postgresql"
    version = published("1.0")
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE consent_policyversion SET text = 'forged' WHERE id = %s", [version.pk]
        )
    assert PolicyVersion.objects.get(pk=version.pk).text == TEXT


# --- Publishing ---------------------------------------------------------------------------------


def test_publishing_is_audited_with_a_checksum_of_the_text():
    officer = PrivacyOfficerFactory()
    version = published("1.0", actor=officer)
    entry = AuditLogEntry.objects.get(action="policy.published")
    assert (entry.actor_user_id, entry.target_id) == (officer.pk, str(version.pk))
    assert entry.data["version"] == "1.0" and len(entry.data["text_sha256"]) == 64


def test_a_version_is_published_only_once():
    version = published("1.0")
    with pytest.raises(Exception, match="already published"):
        policy_publish(version=version, actor=None)
    assert AuditLogEntry.objects.filter(action="policy.published").count() == 1


def test_a_new_version_cannot_take_effect_before_its_publication():
    published(
        "1.0",
        effective_on=timezone.localdate() - datetime.timedelta(days=30),
        last_updated=timezone.localdate() - datetime.timedelta(days=30),
    )
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    late = draft("2.0", last_updated=yesterday, effective_on=yesterday)
    with pytest.raises(Exception, match="before the day it is published"):
        policy_publish(version=late, actor=None)
    assert not PolicyVersion.objects.get(pk=late.pk).is_published


def test_a_material_version_needs_a_summary_of_changes():
    version = draft("1.0", is_material=True, summary_of_changes="")
    with pytest.raises(Exception, match="summary of changes"):
        policy_publish(version=version, actor=None)


# --- The admin ----------------------------------------------------------------------------------


def change_url(version: PolicyVersion) -> str:
    return reverse("admin:consent_policyversion_change", args=[version.pk])


def publish_url(version: PolicyVersion) -> str:
    return reverse("admin:consent_policyversion_publish", args=[version.pk])


def test_admin_shows_a_published_version_read_only():
    client = signed_in(PrivacyOfficerFactory())
    version = published("1.0")
    response = client.get(change_url(version))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert 'name="text"' not in response.content.decode()


def test_admin_refuses_a_posted_change_to_a_published_version():
    client = signed_in(PrivacyOfficerFactory())
    version = published("1.0")
    data = {
        "version": "1.0",
        "title": "Privacy Policy",
        "text": "Forged.",
        "last_updated": "2020-01-01",
        "effective_on": "2020-01-01",
    }
    response = client.post(change_url(version), data)
    assert response.status_code == 403
    assert PolicyVersion.objects.get(pk=version.pk).text == TEXT


def test_admin_lists_versions_with_their_standing_and_offers_publishing_a_draft():
    client = signed_in(PrivacyOfficerFactory())
    published("1.0")
    version = draft("2.0")
    listing = client.get(reverse("admin:consent_policyversion_changelist")).content.decode()
    assert "In effect" in listing and "Draft" in listing
    assert publish_url(version) in client.get(change_url(version)).content.decode()


def test_admin_edits_a_draft():
    client = signed_in(PrivacyOfficerFactory())
    version = draft("2.0")
    today = timezone.localdate().isoformat()
    data = {
        "version": "2.0",
        "title": "Privacy Policy",
        "text": "Reworded.",
        "last_updated": today,
        "effective_on": today,
        "summary_of_changes": "",
    }
    response = client.post(change_url(version), data)
    assert response.status_code == 302
    assert PolicyVersion.objects.get(pk=version.pk).text == "Reworded."


def test_admin_refuses_a_version_label_that_is_not_an_address():
    client = signed_in(PrivacyOfficerFactory())
    today = timezone.localdate().isoformat()
    data = {
        "version": "diff",
        "title": "Privacy Policy",
        "text": "Text.",
        "last_updated": today,
        "effective_on": today,
    }
    response = client.post(reverse("admin:consent_policyversion_add"), data)
    assert response.status_code == 200
    assert not PolicyVersion.objects.exists()


def test_publish_page_shows_the_changes_and_publishes_on_confirmation():
    officer = PrivacyOfficerFactory()
    client = signed_in(officer)
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    published("1.0", last_updated=month_ago, effective_on=month_ago)
    version = draft("2.0", text=NEW_TEXT)
    page = client.get(publish_url(version)).content.decode()
    assert "<ins>We use your location only with your consent.</ins>" in page
    response = client.post(publish_url(version))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_published and version.published_by == officer


def test_support_agent_cannot_publish():
    client = signed_in(SupportAgentFactory())
    version = draft("1.0")
    assert client.post(publish_url(version)).status_code == 403
    assert not PolicyVersion.objects.get(pk=version.pk).is_published


# --- The e-mail fan-out of a material version ---------------------------------------------------


def recipients_of_outbox() -> list[str]:
    return [address for message in mail.outbox for address in message.to]


@pytest.fixture
def users():
    return [UserFactory() for _ in range(5)]


def publish_material() -> PolicyVersion:
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    published("1.0", last_updated=month_ago, effective_on=month_ago)
    return published(
        "2.0",
        text=NEW_TEXT,
        is_material=True,
        summary_of_changes="We added a section about location.",
    )


def test_material_version_emails_every_user_once(users, django_capture_on_commit_callbacks):
    UserFactory(verified=False)  # an address never confirmed is not written to
    UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        publish_material()
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)
    assert all(len(message.to) == 1 for message in mail.outbox)


def test_notice_carries_no_personal_data_but_a_link(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material()
    message = mail.outbox[0]
    assert message.to[0] not in message.body
    assert message.body.startswith("Hello,\n")
    assert reverse("privacy:policy_version", args=[version.version]) in message.body


def test_non_material_version_emails_nobody(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first_and_second(second_text=NEW_TEXT, material=False)
    assert mail.outbox == []


def test_running_the_fanout_again_sends_nothing_twice(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = publish_material()
    notify_policy_published(version.pk)
    notify_policy_published.delay(version.pk)
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)


def test_users_who_join_after_publication_are_not_emailed(django_capture_on_commit_callbacks):
    early = UserFactory()
    version = publish_material()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1)):
        UserFactory()
    notify_policy_published(version.pk)
    assert recipients_of_outbox() == [early.email]


class FlakySmtp:
    """Delivers, then fails once at the `fail_at`-th message (a dropped SMTP connection)."""

    def __init__(self, fail_at: int, error: BaseException) -> None:
        self.fail_at, self.error, self.calls = fail_at, error, 0

    def __call__(self, original):  # type: ignore[no-untyped-def]
        def send(message, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == self.fail_at:
                raise self.error
            return original(message, *args, **kwargs)

        return send


def test_fanout_resumed_after_a_mail_failure_mails_each_user_once(users, monkeypatch):
    version = publish_material()  # the task never ran: we play the worker, batch by batch
    flaky = FlakySmtp(fail_at=3, error=OSError("connection dropped"))
    monkeypatch.setattr("django.core.mail.EmailMessage.send", flaky(mail.EmailMessage.send))
    with pytest.raises(OSError):
        while policy_notify_step(version_id=version.pk, batch_size=2):
            pass
    while policy_notify_step(version_id=version.pk, batch_size=2):  # the retry
        pass
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)
    assert notice_progress(version).sent == len(users)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the task gets to clean up."""


def test_fanout_resumed_after_a_killed_worker_sends_no_duplicate(users, monkeypatch):
    version = publish_material()
    flaky = FlakySmtp(fail_at=3, error=WorkerKilled())
    monkeypatch.setattr("django.core.mail.EmailMessage.send", flaky(mail.EmailMessage.send))
    with pytest.raises(WorkerKilled):
        notify_policy_published(version.pk)
    notify_policy_published(version.pk)  # redelivered (acks_late)
    sent = recipients_of_outbox()
    assert len(sent) == len(set(sent)) == len(users) - 1
    # The one it died on is in doubt, shown to staff, and not sent again.
    assert notice_progress(version).sending == 1


def test_sweep_restarts_a_fanout_whose_task_was_lost(users):
    version = publish_material()  # published, but the broker lost the task
    sweep_policy_notices()
    assert mail.outbox == []  # too recent: it may still be running
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20)):
        sweep_policy_notices()
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)
    assert PolicyNotice.objects.filter(version=version).count() == len(users)


def test_batches_resume_after_the_last_recorded_user(users):
    version = publish_material()
    assert policy_notify_step(version_id=version.pk, batch_size=2) is True
    assert len(mail.outbox) == 2
    while policy_notify_step(version_id=version.pk, batch_size=2):
        pass
    assert sorted(recipients_of_outbox()) == sorted(user.email for user in users)


def test_an_address_the_server_refuses_for_good_does_not_stop_the_others(users, monkeypatch):
    import smtplib

    version = publish_material()
    flaky = FlakySmtp(fail_at=1, error=smtplib.SMTPDataError(554, b"rejected"))
    monkeypatch.setattr("django.core.mail.EmailMessage.send", flaky(mail.EmailMessage.send))
    while policy_notify_step(version_id=version.pk, batch_size=2):
        pass
    assert len(recipients_of_outbox()) == len(users) - 1
    assert PolicyNotice.objects.filter(state=PolicyNotice.State.REFUSED).count() == 1


def test_an_older_account_that_becomes_a_recipient_late_is_still_reached():
    from allauth.account.models import EmailAddress

    late = UserFactory(verified=False)  # the lowest id; confirms its address after the start
    others = [UserFactory(), UserFactory()]
    version = publish_material()
    policy_notify_step(version_id=version.pk, batch_size=1)  # the fan-out is under way
    EmailAddress.objects.filter(user=late).update(verified=True)
    while policy_notify_step(version_id=version.pk, batch_size=1):
        pass
    assert sorted(recipients_of_outbox()) == sorted(u.email for u in [late, *others])


def test_a_draft_from_a_long_version_label_fits_the_column():
    from consent.policies import policy_draft_from

    source = published("2026.11.25-long-lbl")  # 19 characters
    first, second = policy_draft_from(source), policy_draft_from(source)
    assert len(first.version) <= 20 and len(second.version) <= 20
    assert first.version != second.version
