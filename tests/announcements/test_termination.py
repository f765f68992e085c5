"""The end of the service: announced in advance, collection stops on the date, a dry run that
changes nothing, then every user's personal data deleted or anonymized along the registry's
strategies, except what a legal hold keeps."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLogEntry, LoginEvent, Profile, User
from announcements import termination
from announcements.models import ServiceTermination
from consent import services as consent_services
from consent.ledger import user_subject_key
from consent.models import ConsentEvent, Method
from core.models import AuditLogEntry
from core.registry import registry
from notices.models import Broadcast, Category, Message
from requests_dsar import services as dsar_services
from requests_dsar.models import DataSubjectRequest
from retention.models import LegalHold
from tests.factories import DEFAULT_PASSWORD, PurposeFactory, UserFactory
from tests.requests_dsar.residue import find_residue, rich_account

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
ENDS_ON = TODAY + datetime.timedelta(days=30)


def on(day: datetime.date, hour: int = 12):
    """Travel to `day` (tick=False: the clock stands still during the test)."""
    moment = datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)
    return time_machine.travel(moment, tick=False)


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("terminate_service", *args, stdout=out)
    return out.getvalue()


def announce(ends_on: datetime.date = ENDS_ON) -> ServiceTermination:
    return termination.termination_announce(ends_on=ends_on, reason="We are closing down.")


def row_counts() -> dict[str, int]:
    return {entry.model_label: entry.model._base_manager.count() for entry in registry}


# --- Announcing ----------------------------------------------------------------------------------


def test_the_announcement_tells_every_user_the_date(django_capture_on_commit_callbacks):
    users = UserFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        out = command("announce", "--ends-on", ENDS_ON.isoformat(), "--reason", "Closing down.")
    assert f"announced for {ENDS_ON.isoformat()}" in out
    broadcast = ServiceTermination.objects.get().broadcast
    assert (broadcast.kind, broadcast.category) == (
        Broadcast.Kind.TERMINATION,
        Category.SERVICE_NOTICES,
    )
    day = f"{ENDS_ON.day} {ENDS_ON:%B %Y}"
    assert day in broadcast.title and "Closing down." in broadcast.body
    told = set(Message.objects.filter(broadcast=broadcast).values_list("user_id", flat=True))
    assert told == {u.pk for u in users}
    assert AuditLogEntry.objects.filter(action="notices.termination_announced").count() == 1


@pytest.mark.parametrize("days", [-1, 0])
def test_a_date_not_after_today_is_refused(days):
    when = TODAY + datetime.timedelta(days=days)
    with pytest.raises(CommandError, match="must be after today"):
        command("announce", "--ends-on", when.isoformat())
    assert not ServiceTermination.objects.exists()


def test_a_malformed_date_is_a_clear_error():
    with pytest.raises(CommandError, match="is not a date"):
        command("announce", "--ends-on", "31/12/2030")


def test_a_second_announcement_is_refused_while_one_is_active():
    announce()
    with pytest.raises(ValidationError, match="already announced"):
        announce(ENDS_ON + datetime.timedelta(days=5))
    assert ServiceTermination.objects.count() == 1


def test_the_database_allows_one_active_announcement_and_any_number_cancelled():
    ServiceTermination.objects.create(ends_on=ENDS_ON, cancelled_at=timezone.now())
    ServiceTermination.objects.create(ends_on=ENDS_ON, cancelled_at=timezone.now())
    ServiceTermination.objects.create(ends_on=ENDS_ON)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceTermination.objects.create(ends_on=ENDS_ON + datetime.timedelta(days=1))
    assert ServiceTermination.objects.filter(cancelled_at__isnull=True).count() == 1


def test_an_announcement_racing_another_is_refused_by_the_database_with_a_clear_message(
    monkeypatch,
):
    announce()
    # The other announcement is not visible yet to this one's check (two at the same moment):
    # the database's unique index is what refuses it.
    monkeypatch.setattr(termination, "_active", ServiceTermination.objects.none)
    with pytest.raises(ValidationError, match="just announced by someone else"):
        announce(ENDS_ON + datetime.timedelta(days=5))
    assert ServiceTermination.objects.count() == 1


def test_cancelling_tells_those_told_and_collection_goes_on(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        announce()
    with django_capture_on_commit_callbacks(execute=True):
        out = command("cancel")
    assert "cancelled" in out
    assert termination.service_ends_on() is None
    titles = list(user.messages.order_by("pk").values_list("title", flat=True))
    assert titles[-1].endswith("continues its service")
    with on(ENDS_ON):
        assert not termination.collection_stopped()
    with pytest.raises(CommandError, match="nothing to cancel"):
        command("cancel")


# --- Collection stops on the date ----------------------------------------------------------------


def test_collection_stops_on_the_end_date_and_not_before():
    announce()
    with on(ENDS_ON - datetime.timedelta(days=1), hour=23):
        assert not termination.collection_stopped()
    with on(ENDS_ON, hour=0):
        assert termination.collection_stopped()


def test_sign_up_is_closed_from_the_end_date(client):
    announce()
    with on(ENDS_ON):
        page = client.get(reverse("account_signup"))
        posted = client.post(
            reverse("account_signup"),
            {
                "email": "late@example.org",
                "password1": DEFAULT_PASSWORD,
                "password2": DEFAULT_PASSWORD,
            },
        )
    for response in (page, posted):
        assert "account/signup_closed.html" in [t.name for t in response.templates]
    assert not User.objects.filter(email="late@example.org").exists()


def test_the_access_log_and_the_login_history_stop_recording(client):
    user = UserFactory()
    announce()
    with on(ENDS_ON):
        client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
        assert client.get(reverse("dashboard:home")).status_code == 200
    assert client.session.get("_auth_user_id") == str(user.pk)  # signed in all the same
    assert not LoginEvent.objects.filter(user=user).exists()
    assert not AccessLogEntry.objects.filter(user=user).exists()


def test_the_access_log_records_until_the_end_date(client):
    user = UserFactory()
    announce()
    with on(ENDS_ON - datetime.timedelta(days=1)):
        client.force_login(user)
        client.get(reverse("dashboard:home"))
    assert AccessLogEntry.objects.filter(user=user).exists()


def test_consent_can_no_longer_be_given_but_can_still_be_withdrawn():
    user, purpose = UserFactory(), PurposeFactory()
    consent_services.consent_give(user=user, purpose=purpose, method=Method.API, actor=user)
    other = PurposeFactory()
    announce()
    with on(ENDS_ON):
        with pytest.raises(ValidationError, match="no consent can be given"):
            consent_services.consent_give(user=user, purpose=other, method=Method.API, actor=user)
        withdrawn = consent_services.consent_withdraw(
            user=user, purpose=purpose, method=Method.API, actor=user
        )
    assert withdrawn is not None and withdrawn.decision == "withdrawn"


def test_data_requests_still_work_after_the_end_date():
    user = UserFactory()
    announce()
    with on(ENDS_ON):
        request, created = dsar_services.dsar_request_create(
            subject=user, requester=user, type="copy", reauthenticated=True
        )
    assert created and request.pk is not None


# --- The dry run ---------------------------------------------------------------------------------


def hold(user: User) -> LegalHold:
    return LegalHold.objects.create(user=user, reason="Litigation hold, case 7")


def test_the_dry_run_changes_nothing_and_reports_every_registry_entry():
    erased, held = rich_account(), rich_account()
    hold(held.user)
    announce()
    before = row_counts()
    out = command("report")
    assert row_counts() == before
    report = ServiceTermination.objects.get().last_report
    assert [line["model"] for line in report["entries"]] == [
        line["model"] for line in report["entries"] if line["model"] in before
    ]
    assert {line["model"] for line in report["entries"]} == set(before)
    assert report["held_users"] == [held.user.pk]
    profile = next(line for line in report["entries"] if line["model"] == "accounts.Profile")
    assert (profile["strategy"], profile["rows"]) == ("delete", 1)  # the held one is skipped
    assert "accounts.Profile" in out and f"#{held.user.pk}" in out
    assert "Nothing was changed." in out
    assert find_residue(erased.values).keys() == erased.values.keys()


# --- Execution -----------------------------------------------------------------------------------


def test_execution_is_refused_before_the_end_date():
    announce()
    command("report")
    with pytest.raises(CommandError, match="erased from that day, not before"):
        command("execute", "--confirm")


def test_execution_needs_a_report_from_the_last_day():
    announce()
    with on(ENDS_ON):
        command("report")
    later = on(ENDS_ON + datetime.timedelta(days=2))
    with later, pytest.raises(CommandError, match="report from the last 24 hours"):
        command("execute", "--confirm")


def test_execution_needs_confirm():
    announce()
    with on(ENDS_ON):
        command("report")
        with pytest.raises(CommandError, match="Add --confirm"):
            command("execute")
    assert ServiceTermination.objects.get().executed_at is None


def test_execution_erases_along_each_strategy_and_skips_held_users():
    erased, held = rich_account(), rich_account()
    hold(held.user)
    purpose = PurposeFactory()
    for account in (erased, held):
        consent_services.consent_give(
            user=account.user, purpose=purpose, method=Method.API, actor=account.user
        )
    announce()
    with on(ENDS_ON + datetime.timedelta(days=1)):
        command("report")
        out = command("execute", "--confirm")
    assert "Executed on" in out

    # Deleted (profile), anonymized (the account row, the request's free text), retained
    # (consent proof, under a pseudonymous key): nothing personal of the user is left.
    assert find_residue(erased.values) == {}
    assert not Profile.objects.filter(user=erased.user).exists()
    account = User.objects.get(pk=erased.user.pk)
    assert account.email.endswith("@erased.invalid") and not account.is_active
    proof = ConsentEvent.objects.filter(subject_key=user_subject_key(erased.user.pk))
    assert proof.count() == 1
    request = DataSubjectRequest.objects.get(subject=erased.user)
    assert (request.status, request.details) == ("cancelled", "")
    # The held user is untouched.
    assert find_residue(held.values).keys() == held.values.keys()
    assert User.objects.get(pk=held.user.pk).is_active
    assert DataSubjectRequest.objects.get(subject=held.user).status != "cancelled"


def test_execution_writes_one_audit_summary_and_a_re_run_does_nothing():
    rich_account()
    announce()
    with on(ENDS_ON):
        command("report")
        command("execute", "--confirm")
        before = row_counts()
        again = command("execute", "--confirm")
    assert "Already executed" in again
    assert row_counts() == before
    summary = AuditLogEntry.objects.get(action="notices.termination_executed")
    assert summary.data["models"]["accounts.Profile"] == 1
    assert summary.data["rows"]["anonymize"] >= 1


def test_an_execution_stopped_midway_resumes_and_counts_each_row_once(monkeypatch):
    for _ in range(3):
        rich_account()
    announce()
    with on(ENDS_ON):
        report = termination.termination_report().last_report
        expected = {line["model"]: line["rows"] for line in report["entries"]}
        real_apply = termination.apply_strategy
        calls = {"n": 0}

        def dies_on_the_eighth_batch(entry, rows):
            calls["n"] += 1
            if calls["n"] == 8:
                raise RuntimeError("worker killed")
            return real_apply(entry, rows)

        monkeypatch.setattr(termination, "apply_strategy", dies_on_the_eighth_batch)
        with pytest.raises(RuntimeError):
            termination.termination_execute(confirm=True, batch_size=1)
        assert ServiceTermination.objects.get().executed_at is None
        monkeypatch.setattr(termination, "apply_strategy", real_apply)
        done = termination.termination_execute(confirm=True, batch_size=1)
    assert done.termination.executed_at is not None
    # Each batch's progress is committed with it: the rows the first run deleted are counted
    # once, as the report counted them.
    for label in ("accounts.Profile", "accounts.LoginEvent", "account.EmailAddress"):
        assert done.rows[label] == expected[label]
    assert done.rows["accounts.User"] == User.objects.count()


@pytest.mark.parametrize("signed_in", [True, False])
def test_after_the_end_date_accepting_cookies_is_refused_clearly_and_records_nothing(
    client, signed_in
):
    PurposeFactory(key="analytics", name="Usage analytics", cookie_category="analytics")
    user = UserFactory()
    if signed_in:
        client.force_login(user)
    announce()
    before = ConsentEvent.objects.count()
    with on(ENDS_ON):
        response = client.post(reverse("cookies:settings"), {"choice": "accept_all"})
    assert response.status_code == 400
    assert "no consent can be given" in response.content.decode()
    assert ConsentEvent.objects.count() == before
