"""The layout redesign moves models between apps without losing a row: a database holding rows
of every moved model under the schema before the redesign migrates to the new one with every
row, every hash chain and every staff permission intact."""

import io

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from consent import services as consent_services
from consent.models import ConsentEvent, Method
from core.audit import _entry_hash, _hashed_fields
from core.models import GENESIS_HASH, AuditChainHead, AuditLogEntry
from relatives.models import RelativeDocument
from retention.models import LegalHold, RetentionOverride
from tests.factories import PurposeFactory, UserFactory, role_group

# Every app's last migration before the redesign began.
BEFORE = [
    ("accounts", "0004_guardian_consent_roles"),
    ("connectors", "0003_job_stuck_alert"),
    ("consent", "0006_consent_event_purpose_snapshot"),
    ("notices", "0003_fanout_cursor_and_one_active_termination"),
    ("requests_dsar", "0008_connected_systems"),
]
# (app before, app after, model): every model the redesign moved.
MOVED = [
    ("requests_dsar", "core", "AuditLogEntry"),
    ("requests_dsar", "core", "AuditChainHead"),
    ("requests_dsar", "retention", "LegalHold"),
    ("requests_dsar", "retention", "RetentionOverride"),
    ("requests_dsar", "relatives", "RelativeCase"),
    ("requests_dsar", "relatives", "RelativeDocument"),
]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    """Whatever happens in the test, the next tests find the database fully migrated."""
    yield
    _migrate(_latest())


def _old_audit_rows(old_apps, count):
    """Audit entries written under the old schema, chained as audit_append chains them."""
    Entry = old_apps.get_model("requests_dsar", "AuditLogEntry")
    Head = old_apps.get_model("requests_dsar", "AuditChainHead")
    head = Head.objects.filter(pk=1).first()
    prev = head.last_hash if head else GENESIS_HASH
    for n in range(count):
        entry = Entry(
            actor_user_id=n, actor_role="system", action="test.before_move", data={"n": n}
        )
        entry.prev_hash = prev
        entry.hash = _entry_hash(prev, _hashed_fields(entry))
        entry.save()
        prev = entry.hash
    Head.objects.update_or_create(pk=1, defaults={"last_hash": prev})


def _old_rows_of_the_other_moved_models(old_apps, user_pk):
    """One row of every other moved model, written by the old schema's models."""
    old_apps.get_model("requests_dsar", "LegalHold").objects.create(
        user_id=user_pk, reason="A claim (written before the move)."
    )
    old_apps.get_model("requests_dsar", "RetentionOverride").objects.create(
        category="access_log", days=90, reason="Written before the move."
    )
    case = old_apps.get_model("requests_dsar", "RelativeCase").objects.create(
        relative_name="A relative",
        relative_email="relative@example.org",
        relationship="child",
        deceased_id=user_pk,
        asked="copy",
    )
    old_apps.get_model("requests_dsar", "RelativeDocument").objects.create(
        case=case,
        kind="death_certificate",
        storage_name="relatives/x.bin",
        key_id="dev",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
    )


def _verify(command):
    out = io.StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def test_the_redesign_keeps_every_row_chain_and_permission_of_the_moved_models():
    # The staff roles as the migrations made them (an earlier transactional test may have
    # emptied the tables).
    role_group("Privacy officers")
    # A consent chain written by today's code (its tables do not move, but its chain must hold).
    user = UserFactory()
    purpose = PurposeFactory()
    consent_services.consent_give(user=user, purpose=purpose, method=Method.API, actor=user)
    consent_services.consent_withdraw(user=user, purpose=purpose, method=Method.API, actor=user)

    # Back to the schema before the redesign, and rows written there by its own models.
    old_apps = _migrate(BEFORE)
    _old_audit_rows(old_apps, 5)
    _old_rows_of_the_other_moved_models(old_apps, user.pk)
    counts = {model: old_apps.get_model(old, model).objects.count() for old, _new, model in MOVED}
    assert counts["AuditLogEntry"] >= 5

    # Forward to the new layout.
    _migrate(_latest())
    assert AuditLogEntry.objects.count() == counts["AuditLogEntry"]
    assert AuditChainHead.objects.count() == counts["AuditChainHead"]
    assert AuditLogEntry.objects.filter(action="test.before_move").count() == 5
    assert LegalHold.objects.get().user_id == user.pk
    assert RetentionOverride.objects.get().category == "access_log"
    assert RelativeDocument.objects.get().case.deceased_id == user.pk
    for _old, new, model in MOVED:
        assert apps.get_model(new, model).objects.count() == counts[model], model
    assert "The audit log is intact." in _verify("verify_audit_log")
    assert ConsentEvent.objects.count() == 2
    _verify("verify_consent_ledger")  # raises CommandError on a broken chain

    # The content types followed the models, so staff keep what they were granted.
    for old, new, model in MOVED:
        assert not ContentType.objects.filter(app_label=old, model=model.lower()).exists()
        assert ContentType.objects.filter(app_label=new, model=model.lower()).exists()
    officers = Group.objects.get(name="Privacy officers")
    assert officers.permissions.filter(
        content_type__app_label="core", codename="view_auditlogentry"
    ).exists()
