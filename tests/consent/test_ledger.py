"""The consent ledger and its services: append-only, verifiable, a cached projection that a new
event invalidates at once, and the rules of giving, withdrawing and refusing."""

import datetime
import hashlib
import io
import json

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from consent import ledger, services
from consent.models import ConsentEvent, ConsentEventContext, Disclosure, Method
from core.models import AuditLogEntry
from requests_dsar import services as dsar_services
from requests_dsar.models import Status
from tests.factories import (
    PolicyVersionFactory,
    ProfileFactory,
    PurposeFactory,
    StaffFactory,
    ThirdPartyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TABLE = ConsentEvent._meta.db_table
CENTER = Method.CONSENT_CENTER


def give(user, purpose, **kwargs):
    return services.consent_give(user=user, purpose=purpose, method=CENTER, actor=user, **kwargs)


def withdraw(user, purpose):
    return services.consent_withdraw(user=user, purpose=purpose, method=CENTER, actor=user)


def state(user, purpose):
    return ledger.is_allowed(ledger.user_subject_key(user.pk), purpose)


def tamper(sql, params):
    """Change the table behind the ORM's back (on PostgreSQL, with its guard switched off
    inside this test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Foreign keys are checked at commit; ALTER TABLE needs no check pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER consent_ledger_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER consent_ledger_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def verify():
    out = io.StringIO()
    call_command("verify_consent_ledger", stdout=out)
    return out.getvalue()


# --- Append-only ----------------------------------------------------------------------------------


def test_a_queryset_update_of_events_is_refused(user):
    event = give(user, PurposeFactory())
    with pytest.raises(PermissionError):
        ConsentEvent.objects.filter(pk=event.pk).update(decision="withdrawn")


def test_a_queryset_delete_of_events_is_refused(user):
    give(user, PurposeFactory())
    with pytest.raises(PermissionError):
        ConsentEvent.objects.all().delete()
    assert ConsentEvent.objects.count() == 1


def test_saving_or_deleting_an_existing_event_is_refused(user):
    event = give(user, PurposeFactory())
    event.decision = "withdrawn"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert ConsentEvent.objects.get(pk=event.pk).decision == "given"


@pytest.mark.integration
def test_postgresql_refuses_even_a_raw_update_or_delete_of_an_event(user):
    assert connection.vendor == "postgresql"
    event = give(user, PurposeFactory())
    for sql in (f"UPDATE {TABLE} SET decision = 'withdrawn'", f"DELETE FROM {TABLE}"):  # noqa: S608
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert ConsentEvent.objects.get(pk=event.pk).decision == "given"


# --- Verification ---------------------------------------------------------------------------------


def test_verify_consent_ledger_passes_on_intact_chains(user):
    purpose = PurposeFactory()
    give(user, purpose)
    withdraw(user, purpose)
    give(UserFactory(), purpose)
    assert "3 events in 2 chains" in verify()


def test_verify_consent_ledger_names_an_event_edited_behind_the_orms_back(user):
    purpose = PurposeFactory()
    give(user, purpose)
    edited = withdraw(user, purpose)
    give(user, purpose)
    tamper(f"UPDATE {TABLE} SET decision = 'given' WHERE id = %s", [edited.pk])  # noqa: S608
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=err)
    assert f"event #{edited.seq}: its content does not match its hash" in err.getvalue()


def test_an_event_recorded_before_purpose_snapshots_keeps_the_hash_it_was_given(user, monkeypatch):
    purpose = PurposeFactory()
    monkeypatch.setattr(ledger, "purpose_snapshot", lambda purpose: None)
    legacy = give(user, purpose)
    monkeypatch.undo()
    # The hash as it was computed before snapshots were kept: these fields and no others.
    fields = {
        "uuid": str(legacy.uuid),
        "subject_key": legacy.subject_key,
        "seq": legacy.seq,
        "purpose": purpose.key,
        "decision": legacy.decision,
        "policy_version": legacy.policy_version.version if legacy.policy_version else None,
        "method": legacy.method,
        "actor": legacy.actor,
        "actor_user_id": legacy.actor_user_id,
        "created_at": legacy.created_at.isoformat(),
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    assert legacy.hash == hashlib.sha256((ledger.GENESIS + canonical).encode()).hexdigest()
    withdraw(user, purpose)  # a new event, with its snapshot, on the old chain
    assert "2 events in 1 chains" in verify()


def test_verify_consent_ledger_catches_an_edited_purpose_snapshot(user):
    purpose = PurposeFactory()
    edited = give(user, purpose)
    withdraw(user, purpose)
    forged = json.dumps({**edited.purpose_snapshot, "description": "Something else."})
    value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    tamper(f"UPDATE {TABLE} SET purpose_snapshot = {value} WHERE id = %s", [forged, edited.pk])  # noqa: S608
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=err)
    assert f"event #{edited.seq}: its content does not match its hash" in err.getvalue()


# --- The projection and its cache -----------------------------------------------------------------


def test_verify_consent_ledger_catches_an_edited_decision_time(user):
    purpose = PurposeFactory()
    made = timezone.now() - datetime.timedelta(minutes=30)
    edited = give(user, purpose, decided_at=made)
    assert edited.made_at == made
    assert "1 events in 1 chains" in verify()
    forged = made - datetime.timedelta(days=1)
    tamper(f"UPDATE {TABLE} SET decided_at = %s WHERE id = %s", [forged, edited.pk])  # noqa: S608
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=err)
    assert f"event #{edited.seq}: its content does not match its hash" in err.getvalue()


def test_an_optional_purpose_is_off_until_consent_is_given(user):
    assert state(user, PurposeFactory()).allowed is False


def test_the_state_rests_on_the_last_event(user):
    purpose = PurposeFactory()
    give(user, purpose)
    event = withdraw(user, purpose)
    current = state(user, purpose)
    assert (current.allowed, current.decision, current.event_uuid) == (
        False,
        "withdrawn",
        str(event.uuid),
    )


def test_a_new_event_drops_the_cached_state_so_the_next_read_sees_it(user):
    purpose = PurposeFactory()
    give(user, purpose)
    assert state(user, purpose).allowed  # the projection is now cached
    assert cache.get(f"consent:state:{ledger.user_subject_key(user.pk)}") is not None
    withdraw(user, purpose)
    assert state(user, purpose).allowed is False


def test_a_purpose_resting_on_another_legal_basis_needs_no_consent(user):
    purpose = PurposeFactory(legal_basis="contract", is_optional=False)
    assert state(user, purpose).allowed is True


# --- Giving, withdrawing, refusing ----------------------------------------------------------------


def test_giving_twice_under_the_same_policy_records_one_event(user):
    purpose = PurposeFactory()
    assert give(user, purpose) is not None
    assert give(user, purpose) is None
    assert ConsentEvent.objects.count() == 1


def test_giving_again_under_a_new_policy_version_is_recorded(user):
    purpose = PurposeFactory()
    PolicyVersionFactory(effective_on=timezone.localdate() - datetime.timedelta(days=9))
    give(user, purpose)
    newer = PolicyVersionFactory()
    assert give(user, purpose).policy_version == newer


def test_withdrawing_what_was_never_given_records_nothing(user):
    assert withdraw(user, PurposeFactory()) is None
    assert not ConsentEvent.objects.exists()


def test_refusing_a_consent_that_was_given_is_recorded_as_a_withdrawal(user):
    purpose = PurposeFactory()
    give(user, purpose)
    event = services.consent_refuse(user=user, purpose=purpose, method=CENTER, actor=user)
    assert event.decision == "withdrawn"


def test_a_purpose_needed_for_the_service_cannot_be_withdrawn(user):
    purpose = PurposeFactory(is_optional=False)
    give(user, purpose)
    with pytest.raises(ValidationError, match="needed for the service"):
        withdraw(user, purpose)


def test_a_purpose_on_another_legal_basis_cannot_be_given(user):
    with pytest.raises(ValidationError, match="not on consent"):
        give(user, PurposeFactory(legal_basis="contract", is_optional=False))


def test_another_user_cannot_decide_for_someone(user):
    with pytest.raises(PermissionDenied):
        services.consent_give(
            user=user, purpose=PurposeFactory(), method=CENTER, actor=UserFactory()
        )


def test_staff_can_never_give_consent_for_a_user(user):
    with pytest.raises(PermissionDenied):
        services.consent_give(
            user=user, purpose=PurposeFactory(), method=CENTER, actor=StaffFactory()
        )


def test_staff_withdrawing_for_a_user_are_named_as_staff_in_the_ledger(user):
    staff = StaffFactory()
    event = services.consent_withdraw(
        user=user, purpose=give(user, PurposeFactory()).purpose, method=CENTER, actor=staff
    )
    assert (event.actor, event.actor_user_id) == ("staff", staff.pk)


def test_each_decision_is_audited_with_ids_only(user):
    event = give(user, PurposeFactory(key="newsletter"))
    entry = AuditLogEntry.objects.get(action="consent.given")
    assert (entry.target_id, entry.data["event"]) == (str(user.pk), str(event.uuid))
    assert user.email not in str(entry.data)


@pytest.mark.parametrize("decide", ["give", "withdraw"])
def test_a_decision_whose_audit_row_fails_leaves_no_ledger_event(user, monkeypatch, decide):
    purpose = PurposeFactory()
    if decide == "withdraw":
        give(user, purpose)
    before = ConsentEvent.objects.count()

    def audit_fails(**kwargs):
        raise DatabaseError("the audit log could not be written")

    monkeypatch.setattr(services, "audit_append", audit_fails)
    with pytest.raises(DatabaseError):
        give(user, purpose) if decide == "give" else withdraw(user, purpose)
    # The event and its audit row commit together or not at all.
    assert ConsentEvent.objects.count() == before
    assert state(user, purpose).allowed is (decide == "withdraw")


def test_where_consent_was_collected_is_kept_apart_from_the_ledger(user):
    context = services.CollectionContext("203.0.113.9", "Firefox")
    event = give(user, PurposeFactory(), context=context)
    assert ConsentEventContext.objects.get(event=event).ip_address == "203.0.113.9"


# --- Minors ---------------------------------------------------------------------------------------


def minor():
    today = timezone.localdate()
    return ProfileFactory(birth_date=today.replace(year=today.year - 15)).user


def test_a_purpose_not_offered_to_minors_can_never_be_given_for_a_minor():
    child = minor()
    with pytest.raises(ValidationError, match="not offered to people under 18"):
        give(child, PurposeFactory(offered_to_minors=False))
    assert not ConsentEvent.objects.exists()


def test_a_minor_is_never_offered_a_purpose_not_offered_to_minors():
    PurposeFactory(key="ads", offered_to_minors=False)
    PurposeFactory(key="newsletter")
    assert [p.key for p in services.purposes_offered_to(minor())] == ["newsletter"]


@time_machine.travel(datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC), tick=False)
def test_someone_turning_18_today_is_no_longer_a_minor():
    assert services.is_minor_birth_date(datetime.date(2008, 3, 10)) is False
    assert services.is_minor_birth_date(datetime.date(2008, 3, 11)) is True


# --- The withdraw-consent request -----------------------------------------------------------------


def test_a_withdraw_consent_request_withdraws_every_optional_consent(user):
    given = PurposeFactory.create_batch(2)
    never = PurposeFactory()
    for purpose in given:
        give(user, purpose)
    request, _created = dsar_services.dsar_request_create(
        subject=user, requester=user, type="withdraw_consent", details="", reauthenticated=True
    )
    dsar_services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    states = ledger.state_for(ledger.user_subject_key(user.pk), [*given, never])
    assert [s.decision for s in states] == ["withdrawn", "withdrawn", None]


def test_withdrawing_everything_twice_records_nothing_the_second_time(user):
    give(user, PurposeFactory())
    first = services.consent_withdraw_all_optional(user=user, method=Method.REQUEST, actor=user)
    second = services.consent_withdraw_all_optional(user=user, method=Method.REQUEST, actor=user)
    assert (len(first), second) == (1, [])


# --- Disclosures ----------------------------------------------------------------------------------


def test_a_sharing_is_logged_with_recipient_purpose_and_categories(user):
    purpose, recipient = PurposeFactory(), ThirdPartyFactory()
    services.disclosure_record(
        user=user,
        third_party=recipient,
        purpose=purpose,
        data_categories=["2 - Contact"],
        description="Weekly newsletter list",
    )
    logged = Disclosure.objects.get(user=user)
    assert (logged.third_party, logged.purpose, logged.data_categories) == (
        recipient,
        purpose,
        ["2 - Contact"],
    )


def test_a_state_a_slow_reader_cached_before_a_withdrawal_is_never_used(user):
    purpose = PurposeFactory()
    give(user, purpose)
    key = ledger.user_subject_key(user.pk)
    assert state(user, purpose).allowed  # fills the cache
    stale = cache.get(ledger._cache_key(key))
    withdraw(user, purpose)
    # A check that read "given" before the withdrawal committed writes it back afterwards.
    cache.set(ledger._cache_key(key), stale)
    assert not state(user, purpose).allowed


def test_verify_consent_ledger_catches_a_rewritten_last_event(user):
    purpose = PurposeFactory()
    give(user, purpose)
    last = withdraw(user, purpose)
    # A forger who knows the (unkeyed) hash recomputes it: only the chain head tells.
    last.decision = "given"
    forged_hash = ledger._event_hash(last.prev_hash, last)
    tamper(
        f"UPDATE {TABLE} SET decision = 'given', hash = %s WHERE id = %s",  # noqa: S608
        [forged_hash, last.pk],
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_consent_ledger", stdout=io.StringIO(), stderr=err)
    assert f"event #{last.seq}" in err.getvalue()


def test_a_purposes_key_cannot_change_once_it_exists():
    purpose = PurposeFactory(key="ads")
    purpose.key = "ads-v2"
    with pytest.raises(ValueError, match="cannot change"):
        purpose.save()
