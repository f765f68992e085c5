"""Publishing policy versions: immutability, the admin and the audit row.

Telling users about a material version is in test_policy_notices.py."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from consent.models import PolicyVersion
from consent.policies import policy_publish
from core.models import AuditLogEntry
from tests.consent.policy_factories import TEXT, draft, published
from tests.factories import PrivacyOfficerFactory, SupportAgentFactory
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


def test_a_draft_from_a_long_version_label_fits_the_column():
    from consent.policies import policy_draft_from

    source = published("2026.11.25-long-lbl")  # 19 characters
    first, second = policy_draft_from(source), policy_draft_from(source)
    assert len(first.version) <= 20 and len(second.version) <= 20
    assert first.version != second.version


def test_the_publish_button_comes_after_the_changes_and_the_text_it_asks_to_review():
    from tests.factories import PrivacyOfficerFactory
    from tests.requests_dsar.staff import signed_in

    version = draft("2.0")
    page = signed_in(PrivacyOfficerFactory()).get(
        reverse("admin:consent_policyversion_publish", args=[version.pk])
    )
    html = page.content.decode()
    button = html.index('value="Publish version 2.0"')
    assert html.index("Changes since the version in effect") < button
    assert html.index("The text as users will see it") < button
