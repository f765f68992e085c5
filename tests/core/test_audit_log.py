"""The audit log: append-only, verifiable, and it records staff views of personal data."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from core.admin_tools import VIEWED
from core.audit import audit_append
from core.models import AuditLogEntry
from tests.factories import (
    AccessLogEntryFactory,
    DataSubjectRequestFactory,
    ProfileFactory,
    StaffFactory,
    SupportAgentFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

TABLE = AuditLogEntry._meta.db_table


def chain(count=3):
    return [
        audit_append(action="dsar.transition", actor_user_id=None, target_id=n, data={"n": n})
        for n in range(count)
    ]


def verify():
    out = io.StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def tamper(sql, params):
    """Change the table behind the ORM's back (on PostgreSQL, with its guard switched off)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_log_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_log_append_only")


# --- Append-only through the ORM ------------------------------------------------------------------


def test_a_queryset_update_is_refused():
    entry = chain(1)[0]
    with pytest.raises(PermissionError):
        AuditLogEntry.objects.filter(pk=entry.pk).update(action="forged")


def test_a_queryset_delete_is_refused():
    chain(2)
    with pytest.raises(PermissionError):
        AuditLogEntry.objects.all().delete()
    assert AuditLogEntry.objects.count() == 2


def test_saving_or_deleting_an_existing_entry_is_refused():
    entry = chain(1)[0]
    entry.action = "forged"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    assert AuditLogEntry.objects.get(pk=entry.pk).action == "dsar.transition"


# --- Read-only in the admin, even for a superuser ----------------------------------------------


def test_not_even_a_superuser_may_add_change_or_delete_entries_in_the_admin():
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = StaffFactory()
    model_admin = admin.site._registry[AuditLogEntry]
    entry = chain(1)[0]
    assert model_admin.has_view_permission(request, entry)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)


def test_the_admin_refuses_a_delete_post_from_a_superuser():
    entry = chain(1)[0]
    client = signed_in(StaffFactory())
    url = reverse("admin:core_auditlogentry_delete", args=[entry.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    page = client.get(reverse("admin:core_auditlogentry_changelist"))
    assert page.status_code == 200
    assert b'name="action"' not in page.content
    assert AuditLogEntry.objects.filter(pk=entry.pk).exists()


# --- Verification ---------------------------------------------------------------------------


def test_verify_audit_log_passes_on_an_intact_chain():
    chain(3)
    out = verify()
    assert f"{AuditLogEntry.objects.count()} entries checked" in out
    assert "intact" in out


def test_verify_audit_log_names_the_first_entry_altered_behind_the_orms_back():
    _first, second, _third = chain(3)
    tamper(f"UPDATE {TABLE} SET data = %s WHERE id = %s", ['{"n": 99}', second.pk])  # noqa: S608
    with pytest.raises(CommandError) as broken:
        verify()
    assert f"entry {second.pk}" in str(broken.value)
    assert "content does not match its hash" in str(broken.value)
    assert broken.value.returncode != 0


def test_verify_audit_log_notices_an_entry_removed_from_the_middle():
    _first, second, third = chain(3)
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [second.pk])  # noqa: S608
    with pytest.raises(CommandError) as broken:
        verify()
    assert f"entry {third.pk}" in str(broken.value)


def test_verify_audit_log_notices_entries_cut_from_the_end():
    chain(3)
    last = AuditLogEntry.objects.order_by("pk").last()
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [last.pk])  # noqa: S608
    with pytest.raises(CommandError) as broken:
        verify()
    assert "removed" in str(broken.value)


@pytest.mark.integration
def test_postgresql_refuses_even_a_raw_update_or_delete():
    assert connection.vendor == "postgresql"
    entry = chain(1)[0]
    for sql in (f"UPDATE {TABLE} SET action = 'forged'", f"DELETE FROM {TABLE}"):  # noqa: S608
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditLogEntry.objects.get(pk=entry.pk).action == "dsar.transition"


# --- Staff views of personal data -----------------------------------------------------------------


def viewed():
    return list(AuditLogEntry.objects.filter(action=VIEWED).order_by("pk"))


@pytest.fixture
def agent_client():
    agent = SupportAgentFactory()
    return agent, signed_in(agent)


def test_viewing_a_users_page_is_audited_with_who_and_whom(agent_client):
    agent, client = agent_client
    user = UserFactory()
    before = len(viewed())
    assert client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200
    entry = viewed()[-1]
    assert len(viewed()) == before + 1
    assert (entry.actor_user_id, entry.actor_role) == (agent.pk, "staff")
    assert (entry.target_type, entry.target_id, entry.data["user_id"]) == (
        "accounts.user",
        str(user.pk),
        user.pk,
    )


def test_the_audit_entry_holds_ids_not_the_data_viewed(agent_client):
    _agent, client = agent_client
    profile = ProfileFactory()
    client.get(reverse("admin:accounts_profile_change", args=[profile.pk]))
    entry = viewed()[-1]
    assert (entry.target_type, entry.data["user_id"]) == ("accounts.profile", profile.user_id)
    assert profile.user.email not in str(entry.data)
    assert profile.name not in str(entry.data)


def test_viewing_a_request_page_is_audited_for_its_subject(agent_client):
    _agent, client = agent_client
    request = DataSubjectRequestFactory()
    client.get(reverse("admin:requests_dsar_datasubjectrequest_change", args=[request.pk]))
    entry = viewed()[-1]
    assert (entry.target_type, entry.target_id, entry.data["user_id"]) == (
        "requests_dsar.datasubjectrequest",
        str(request.pk),
        request.subject_id,
    )


def test_a_list_page_is_audited_once_with_the_number_of_rows_shown():
    client = signed_in(StaffFactory())
    user = UserFactory()
    AccessLogEntryFactory.create_batch(3, user=user)
    before = len(viewed())
    client.get(reverse("admin:accounts_accesslogentry_changelist"), {"q": user.email})
    entries = viewed()[before:]
    assert [(e.target_type, e.data["rows"]) for e in entries] == [("accounts.accesslogentry", 3)]


def test_a_page_that_was_refused_or_not_found_is_not_recorded_as_viewed(agent_client):
    _agent, client = agent_client
    before = len(viewed())
    # Agents may not see API tokens; and a missing user's page shows nothing.
    assert client.get(reverse("admin:accounts_apitoken_changelist")).status_code == 403
    client.get(reverse("admin:accounts_user_change", args=[999_999]))
    assert len(viewed()) == before
