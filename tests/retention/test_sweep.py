"""Retention: each category goes after its period, never what a legal hold keeps."""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessLogEntry, LoginEvent, User
from announcements.models import Incident, ServiceTermination, TransferNotice
from consent.ledger import consent_record, user_subject_key
from consent.models import ConsentEvent, ConsentEventContext
from core import retention as rule_table
from core.models import AuditLogEntry
from guardianship.models import Guardianship
from notices.models import Broadcast, Message
from requests_dsar import export
from requests_dsar.models import (
    AppliedCorrection,
    DataSubjectRequest,
    ErasureRecord,
    ExportArchive,
    RequestMessage,
    VerificationCode,
)
from retention import sweep as retention
from retention.models import LegalHold, RetentionOverride
from retention.tasks import retention_sweep as retention_sweep_task
from tests.factories import (
    AccessLogEntryFactory,
    DataSubjectRequestFactory,
    LoginEventFactory,
    PolicyVersionFactory,
    PurposeFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PORTAL_CATEGORIES = {
    "access_log",
    "login_history",
    "export_archives",
    "closed_request_evidence",
    "unconfirmed_signups",
    "declined_minors",
    "inbox_messages",
}


def days_ago(days, hours=0):
    return timezone.now() - datetime.timedelta(days=days, hours=hours)


def hold(*, user=None, request=None, **fields):
    return LegalHold.objects.create(user=user, request=request, reason="Court order 42", **fields)


def access_row(user, days):
    return AccessLogEntryFactory(user=user, created_at=days_ago(days))


def closed_request(days, *, status="completed", **fields):
    """A request closed `days` ago, with a code, a message and an applied correction."""
    request = DataSubjectRequestFactory(status=status, status_changed_at=days_ago(days), **fields)
    VerificationCode.objects.create(request=request, code_hash="0" * 64, expires_at=days_ago(days))
    RequestMessage.objects.create(request=request, body="My old address is 1 Main Street")
    AppliedCorrection.objects.create(request=request, field="nickname", before="Al", after="Bo")
    return request


def evidence_left(request):
    return (
        VerificationCode.objects.filter(request=request).exists(),
        RequestMessage.objects.get(request=request).body != "",
        AppliedCorrection.objects.filter(request=request).exclude(before="", after="").exists(),
    )


def message(user, days, **fields):
    return Message.objects.create(
        user=user,
        category="service_notices",
        title="Maintenance",
        body="We will be down for an hour.",
        email_state="not_wanted",
        created_at=days_ago(days),
        **fields,
    )


def unconfirmed_signup(days=8, **fields):
    return UserFactory(verified=False, date_joined=days_ago(days), **fields)


def guardianship(status, days, **fields):
    minor = UserFactory()
    return Guardianship.objects.create(
        minor=minor,
        guardian_email="parent@example.org",
        status=status,
        invitation_nonce="n" * 43,
        expires_at=fields.pop("expires_at", days_ago(days)),
        **fields,
    )


def archive(request, *, expired_days_ago, file_deleted=True):
    name = f"exports/test-{request.pk}-{expired_days_ago}.bin"
    default_storage.save(name, ContentFile(b"ciphertext"))
    if file_deleted:
        default_storage.delete(name)
    return ExportArchive.objects.create(
        request=request,
        storage_name=name,
        key_id="k1",
        sha256="0" * 64,
        expires_at=days_ago(expired_days_ago),
        deleted_at=days_ago(expired_days_ago) if file_deleted else None,
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- Periods and holds ----------------------------------------------------------------------------


def test_access_log_and_login_history_go_after_180_days_and_newer_rows_stay(user):
    access_row(user, 181)
    recent = access_row(user, 179)
    LoginEventFactory(user=user, created_at=days_ago(181))
    recent_login = LoginEventFactory(user=user, created_at=days_ago(10))

    result = retention.retention_sweep()

    assert set(AccessLogEntry.objects.values_list("pk", flat=True)) == {recent.pk}
    assert set(LoginEvent.objects.values_list("pk", flat=True)) == {recent_login.pk}
    assert result.removed["access_log"] == 1 and result.removed["login_history"] == 1


def test_a_hold_on_a_user_keeps_all_their_expired_rows_and_no_one_elses():
    held, other = UserFactory(), UserFactory()
    hold(user=held)
    for person in (held, other):
        access_row(person, 400)
        LoginEventFactory(user=person, created_at=days_ago(400))
        message(person, 400)

    result = retention.retention_sweep()

    for model in (AccessLogEntry, LoginEvent, Message):
        assert list(model.objects.values_list("user_id", flat=True)) == [held.pk]
    assert result.held == {**result.held, "access_log": 1, "login_history": 1, "inbox_messages": 1}


def test_a_hold_on_a_request_keeps_that_requests_evidence_only():
    kept, cleared = closed_request(200), closed_request(200)
    hold(request=kept)

    retention.retention_sweep()

    assert evidence_left(kept) == (True, True, True)
    assert evidence_left(cleared) == (False, False, False)


def test_a_hold_on_the_subject_keeps_the_evidence_of_their_requests():
    subject = UserFactory()
    request = closed_request(200, subject=subject, requester=None)
    hold(user=subject)

    retention.retention_sweep()

    assert evidence_left(request) == (True, True, True)


def test_a_hold_placed_mid_sweep_keeps_that_users_rows_not_yet_removed(monkeypatch):
    first, second = UserFactory(), UserFactory()
    for _ in range(3):
        access_row(first, 200)
        access_row(second, 200)
    remove_batch = retention._remove_batch

    def remove_then_hold(target, batch):
        removed = remove_batch(target, batch)
        if not LegalHold.objects.exists():  # an officer places a hold after the first batch
            hold(user=second)
        return removed

    monkeypatch.setattr(retention, "_remove_batch", remove_then_hold)
    result = retention.retention_sweep(categories=["access_log"], batch_size=2)

    # The first batch took one row of each; after it, only the unheld user's rows went.
    assert list(AccessLogEntry.objects.values_list("user_id", flat=True)) == [second.pk] * 2
    assert result.removed["access_log"] == 4


def test_an_archive_goes_only_with_its_file_even_if_its_hold_is_released_meanwhile(monkeypatch):
    held_user, other = UserFactory(), UserFactory()
    kept = archive(
        DataSubjectRequestFactory(subject=held_user, status="completed"),
        expired_days_ago=30,
        file_deleted=False,
    )
    gone = archive(
        DataSubjectRequestFactory(subject=other, status="completed"),
        expired_days_ago=30,
        file_deleted=False,
    )
    the_hold = hold(user=held_user)
    delete_file = export.archive_delete_file

    def delete_then_release(archive, **kwargs):
        delete_file(archive, **kwargs)
        # Released while the batch's files go: the held archive's file was not among them.
        LegalHold.objects.filter(pk=the_hold.pk).update(released_at=timezone.now())

    monkeypatch.setattr(export, "archive_delete_file", delete_then_release)
    retention.retention_sweep(categories=["export_archives"])

    assert ExportArchive.objects.filter(pk=kept.pk).exists()  # left for the next sweep
    assert default_storage.exists(kept.storage_name)
    assert not ExportArchive.objects.filter(pk=gone.pk).exists()
    assert not default_storage.exists(gone.storage_name)


def test_a_hold_placed_before_a_batchs_files_go_keeps_the_files(monkeypatch):
    first, second = UserFactory(), UserFactory()
    archives = [
        archive(
            DataSubjectRequestFactory(subject=person, status="completed"),
            expired_days_ago=30,
            file_deleted=False,
        )
        for person in (first, second)
    ]
    delete_file = export.archive_delete_file

    def delete_then_hold(archive, **kwargs):
        delete_file(archive, **kwargs)
        if not LegalHold.objects.exists():
            hold(user=second)

    monkeypatch.setattr(export, "archive_delete_file", delete_then_hold)
    retention.retention_sweep(categories=["export_archives"], batch_size=1)

    assert not default_storage.exists(archives[0].storage_name)
    assert default_storage.exists(archives[1].storage_name)
    assert list(ExportArchive.objects.values_list("pk", flat=True)) == [archives[1].pk]


@pytest.mark.parametrize(
    "ended",
    [
        {"expires_at": datetime.timedelta(days=-1)},
        {"released_at": datetime.timedelta(days=-1)},
    ],
    ids=["expired", "released"],
)
def test_a_hold_that_expired_or_was_released_no_longer_protects(user, ended):
    hold(user=user, **{field: timezone.now() + delta for field, delta in ended.items()})
    access_row(user, 200)

    retention.retention_sweep()

    assert not AccessLogEntry.objects.exists()


def test_an_override_moves_the_cutoff(user):
    access_row(user, 60)
    retention.retention_sweep()
    assert AccessLogEntry.objects.count() == 1  # within the 180 days of the settings

    RetentionOverride.objects.create(category="access_log", days=30, reason="Minimisation")
    retention.retention_sweep()

    assert not AccessLogEntry.objects.exists()


def test_the_settings_period_applies_when_no_override(user, settings):
    settings.DSAR_RETENTION_DAYS = {**settings.DSAR_RETENTION_DAYS, "access_log": 10}
    access_row(user, 11)

    line = next(line for line in retention.retention_report() if line.rule.key == "access_log")

    assert (line.period.days, line.period.overridden, line.due) == (10, False, 1)


# --- Report, batches, audit, idempotence ----------------------------------------------------------


def populate_every_category():
    user = UserFactory()
    access_row(user, 200)
    LoginEventFactory(user=user, created_at=days_ago(200))
    message(user, 400)
    request = closed_request(200, subject=user, requester=user)
    archive(request, expired_days_ago=30)
    guardianship("declined", 60, declined_at=days_ago(60))
    unconfirmed_signup()
    held = UserFactory()
    access_row(held, 200)
    hold(user=held)


def row_counts():
    models = [
        AccessLogEntry,
        LoginEvent,
        Message,
        VerificationCode,
        ExportArchive,
        Guardianship,
        User,
        EmailAddress,
        AuditLogEntry,
    ]
    counts = {model.__name__: model.objects.count() for model in models}
    counts["message_texts"] = RequestMessage.objects.exclude(body="").count()
    counts["correction_values"] = AppliedCorrection.objects.exclude(before="").count()
    return counts


def test_the_report_and_a_dry_run_change_nothing():
    populate_every_category()
    before = row_counts()

    lines = retention.retention_report()
    call_command("retention_report", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("retention_sweep", "--dry-run", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert row_counts() == before
    due = {line.rule.key: line.due for line in lines if line.rule.key in PORTAL_CATEGORIES}
    assert min(due.values()) >= 1 and set(due) == PORTAL_CATEGORIES, due


def test_the_report_counts_exactly_what_the_sweep_then_removes():
    populate_every_category()
    report = {line.rule.key: (line.due, line.held) for line in retention.retention_report()}

    result = retention.retention_sweep()

    assert {key: (line.removed, line.held) for key, line in result.categories.items()} == report


def test_a_sweep_works_through_more_rows_than_one_batch(user):
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(user=user, created_at=days_ago(200), method="GET", path="/", status_code=200)
        for _ in range(25)
    )

    with CaptureQueriesContext(connection) as queries:
        result = retention.retention_sweep(categories=["access_log"], batch_size=4)

    deletes = [q for q in queries if q["sql"].startswith("DELETE")]
    assert result.removed == {"access_log": 25}
    assert not AccessLogEntry.objects.exists()
    assert len(deletes) == 7  # 6 full batches of 4, then the last row


def test_every_sweep_writes_one_audit_summary_of_counts_only(user):
    access_row(user, 200)
    message(user, 400)

    retention.retention_sweep()

    (entry,) = AuditLogEntry.objects.filter(action="retention.swept")
    assert entry.data["removed"]["access_log"] == 1
    assert entry.data["removed"]["inbox_messages"] == 1
    assert user.email not in json.dumps(entry.data)


def test_a_second_sweep_finds_nothing_more_to_remove(user):
    access_row(user, 200)
    closed_request(200)

    retention.retention_sweep()
    second = retention.retention_sweep()

    assert sum(second.removed.values()) == 0
    assert AuditLogEntry.objects.filter(action="retention.swept").count() == 2


def test_a_sweep_cut_short_by_its_time_budget_says_so_and_the_next_finishes(user):
    access_row(user, 200)

    first = retention.retention_sweep(time_budget=1e-9)
    second = retention.retention_sweep()

    assert not first.complete and second.complete
    assert not AccessLogEntry.objects.exists()
    entries = AuditLogEntry.objects.filter(action="retention.swept").order_by("pk")
    assert [e.data["complete"] for e in entries] == [False, True]


def test_the_nightly_task_is_scheduled_and_harmless_when_delivered_twice(user, settings):
    access_row(user, 200)
    access_row(user, 1)

    retention_sweep_task.delay()
    retention_sweep_task.delay()  # a redelivery

    assert AccessLogEntry.objects.count() == 1
    assert settings.CELERY_BEAT_SCHEDULE["retention-sweep"]["task"] == retention_sweep_task.name


def test_the_sweep_command_runs_only_the_categories_named(user):
    access_row(user, 200)
    LoginEventFactory(user=user, created_at=days_ago(200))

    call_command("retention_sweep", "--category", "access_log", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert not AccessLogEntry.objects.exists()
    assert LoginEvent.objects.exists()


# --- Each category --------------------------------------------------------------------------------


def test_closed_request_evidence_is_cleared_and_the_request_and_its_proof_stay():
    request = closed_request(181, status="denied", denial_reason="other")
    ErasureRecord.objects.create(request=request, subject_hash="h" * 64, summary=[])
    recent = closed_request(179)

    retention.retention_sweep()

    assert evidence_left(request) == (False, False, False)
    assert evidence_left(recent) == (True, True, True)
    assert DataSubjectRequest.objects.filter(pk=request.pk).exists()
    assert ErasureRecord.objects.filter(request=request).exists()


def test_a_closed_requests_details_and_a_signed_out_requesters_address_are_cleared():
    signed_out = {"subject": None, "requester": None, "contact_email": "visitor@example.net"}
    old = closed_request(181, details="About my cat Tom", **signed_out)
    recent = closed_request(179, details="About my dog Rex", **signed_out)

    result = retention.retention_sweep(categories=["closed_request_evidence"])

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.details, old.contact_email, old.status) == ("", "", "completed")
    assert (recent.details, recent.contact_email) == ("About my dog Rex", "visitor@example.net")
    assert result.removed["closed_request_evidence"] == 4  # the request, code, message, values


def correction_scope():
    return {
        "changes": [
            {"field": "nickname", "value": "Tommy"},
            {"field": "other", "value": "My birth date is 1 May 1980, not 1 June"},
        ],
        "staff_review": ["nickname"],
    }


def test_a_closed_corrections_requested_changes_are_dropped_and_the_rest_of_its_scope_stays():
    old = closed_request(181, type="correct", details="", scope=correction_scope())
    recent = closed_request(179, type="supplement", details="", scope=correction_scope())

    result = retention.retention_sweep(categories=["closed_request_evidence"])

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.scope == {"staff_review": ["nickname"]}
    assert recent.scope == correction_scope()
    assert result.removed["closed_request_evidence"] == 4  # the request, code, message, values


def test_a_hold_on_a_closed_correction_keeps_its_requested_changes():
    request = closed_request(200, type="correct", details="", scope=correction_scope())
    hold(request=request)

    retention.retention_sweep()

    request.refresh_from_db()
    assert request.scope == correction_scope()


def test_a_hold_on_a_closed_request_keeps_its_details():
    request = closed_request(200, details="About my cat Tom")
    hold(request=request)

    retention.retention_sweep()

    request.refresh_from_db()
    assert request.details == "About my cat Tom"


def test_an_open_request_keeps_its_evidence_however_old():
    request = closed_request(400, status="needs_clarification")

    retention.retention_sweep()

    assert evidence_left(request) == (True, True, True)


def test_archive_records_go_a_period_after_their_link_expired_with_any_file_left(user):
    request = DataSubjectRequestFactory(subject=user, status="completed")
    old = archive(request, expired_days_ago=8, file_deleted=False)  # the file sweep lagged
    recent = archive(request, expired_days_ago=6)

    retention.retention_sweep()

    assert list(ExportArchive.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not default_storage.exists(old.storage_name)


def test_unconfirmed_signups_are_removed_with_their_addresses_and_ledger_events_stay():
    signup = unconfirmed_signup()
    purpose = PurposeFactory()
    consent_record(
        subject_key=user_subject_key(signup.pk),
        purpose=purpose,
        decision="given",
        method="signup_form",
        policy_version=PolicyVersionFactory(),
        user_id=signup.pk,
        ip_address="198.51.100.7",
    )

    result = retention.retention_sweep()

    assert not User.objects.filter(pk=signup.pk).exists()
    assert not EmailAddress.objects.filter(user_id=signup.pk).exists()
    assert not ConsentEventContext.objects.exists()
    assert ConsentEvent.objects.filter(subject_key=user_subject_key(signup.pk)).exists()
    assert result.removed["unconfirmed_signups"] == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: UserFactory(date_joined=days_ago(30)),  # verified
        lambda: unconfirmed_signup(last_login=days_ago(20)),  # signed in (e.g. third party)
        lambda: unconfirmed_signup(days=6),  # still within the week
        lambda: StaffFactory(verified=False, date_joined=days_ago(30)),
    ],
    ids=["verified", "signed-in", "recent", "staff"],
)
def test_accounts_that_are_not_abandoned_signups_are_kept(make):
    account = make()

    retention.retention_sweep()

    assert User.objects.filter(pk=account.pk).exists()


def test_an_unconfirmed_signup_under_a_hold_is_kept_and_counted_as_held():
    signup = unconfirmed_signup()
    hold(user=signup)

    result = retention.retention_sweep()

    assert User.objects.filter(pk=signup.pk).exists()
    assert result.held["unconfirmed_signups"] == 1


def test_guardian_invitations_go_a_period_after_they_ended_and_live_ones_stay():
    declined = guardianship("declined", 31, declined_at=days_ago(31))
    revoked_recently = guardianship("revoked", 29, revoked_at=days_ago(29))
    expired = guardianship("expired", 31)
    live = guardianship("invited", 0, invited_at=days_ago(400))

    retention.retention_sweep()

    remaining = set(Guardianship.objects.values_list("pk", flat=True))
    assert remaining == {revoked_recently.pk, live.pk}
    assert declined.pk not in remaining and expired.pk not in remaining


def test_inbox_messages_go_after_a_year_except_those_of_a_broadcast_still_sending(user):
    broadcast = Broadcast.objects.create(
        source="service:1", kind="service", category="service_notices", title="T", body="B"
    )
    in_fanout = message(user, 400, broadcast=broadcast)
    old, recent = message(user, 366), message(user, 364)

    retention.retention_sweep()

    remaining = set(Message.objects.values_list("pk", flat=True))
    assert remaining == {in_fanout.pk, recent.pk} and old.pk not in remaining


def notice_broadcast(source, user, days):
    broadcast = Broadcast.objects.create(
        source=source,
        kind="service",
        category="service_notices",
        title="T",
        body="B",
        state="done",
    )
    return broadcast, message(user, days, broadcast=broadcast)


def test_an_open_incidents_notice_stays_in_the_inbox_and_goes_after_it_is_closed(user):
    broadcast, told = notice_broadcast("incident:1", user, 400)
    incident = Incident.objects.create(
        title="Leak",
        what_happened="A leak.",
        found_at=days_ago(401),
        measures_taken="Fixed.",
        advice="None.",
        broadcast=broadcast,
    )

    retention.retention_sweep(categories=["inbox_messages"])
    assert Message.objects.filter(pk=told.pk).exists()  # updates still go to the people told

    Incident.objects.filter(pk=incident.pk).update(status="closed")
    retention.retention_sweep(categories=["inbox_messages"])
    assert not Message.objects.filter(pk=told.pk).exists()


def test_a_transfer_notice_stays_until_the_transfer_takes_effect(user):
    future, waiting = notice_broadcast("transfer:1", user, 400)
    past, _in_effect = notice_broadcast("transfer:2", user, 400)
    for broadcast, days in ((future, -10), (past, 10)):
        TransferNotice.objects.create(
            kind="merger",
            new_controller="Acme",
            what_changes="Nothing.",
            effective_on=(timezone.now() - datetime.timedelta(days=days)).date(),
            broadcast=broadcast,
        )

    retention.retention_sweep(categories=["inbox_messages"])

    assert list(Message.objects.values_list("pk", flat=True)) == [waiting.pk]


def test_an_announced_end_of_the_service_stays_while_it_may_be_cancelled(user):
    active, announced = notice_broadcast("termination:1", user, 400)
    cancelled, _withdrawn = notice_broadcast("termination:2", user, 400)
    ends_on = timezone.localdate() + datetime.timedelta(days=10)
    ServiceTermination.objects.create(ends_on=ends_on, broadcast=active)
    ServiceTermination.objects.create(
        ends_on=ends_on, broadcast=cancelled, cancelled_at=timezone.now()
    )

    retention.retention_sweep(categories=["inbox_messages"])

    assert list(Message.objects.values_list("pk", flat=True)) == [announced.pk]


# --- Extensible table and settings ----------------------------------------------------------------


def test_another_app_can_add_a_category(user):
    rule = rule_table.register_rule(
        "test_api_tokens",
        label="API tokens",
        removes="Expired tokens.",
        default_days=1,
        targets=[
            rule_table.Target(
                "accounts.AccessLogEntry",
                rule_table.Action.DELETE,
                lambda cutoff: AccessLogEntry.objects.filter(created_at__lt=cutoff),
                ("user_id",),
            )
        ],
    )
    try:
        access_row(user, 2)
        result = retention.retention_sweep(categories=[rule.key])
        assert result.removed == {rule.key: 1}
        with pytest.raises(ValueError, match="twice"):
            rule_table.register_rule(rule.key, label="", removes="", default_days=1, targets=[])
    finally:
        rule_table._rules.pop(rule.key)


def settings_value(**env):
    code = "import config.settings as s; print(s.DSAR_RETENTION_DAYS['access_log'])"
    base = {k: v for k, v in os.environ.items() if k != "DSAR_RETENTION_DAYS"}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_environment_overrides_a_period_and_a_bad_value_is_refused():
    assert settings_value(DSAR_RETENTION_DAYS='{"access_log": 90}').stdout.strip() == "90"
    refused = settings_value(DSAR_RETENTION_DAYS='{"access_log": 0}')
    assert refused.returncode != 0 and "DSAR_RETENTION_DAYS" in refused.stderr
