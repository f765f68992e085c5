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
from django.utils import timezone

from announcements.models import Incident, IncidentUpdate, ServiceTermination, TransferNotice
from consent import services as consent_services
from consent.models import ConsentEvent, Method
from core.audit import _entry_hash, _hashed_fields
from core.models import GENESIS_HASH, AuditChainHead, AuditLogEntry
from guardianship.models import GuardianDocument, Guardianship, MinorAccount
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
    ("notices", "announcements", "Incident"),
    ("notices", "announcements", "IncidentUpdate"),
    ("notices", "announcements", "TransferNotice"),
    ("notices", "announcements", "ServiceTermination"),
    ("accounts", "guardianship", "MinorAccount"),
    ("accounts", "guardianship", "Guardianship"),
    ("accounts", "guardianship", "GuardianDocument"),
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


def _old_announcements(old_apps, purpose_pk):
    """One row of each announcement model, written under the old schema (in notices)."""
    Incident = old_apps.get_model("notices", "Incident")
    IncidentUpdate = old_apps.get_model("notices", "IncidentUpdate")
    TransferNotice = old_apps.get_model("notices", "TransferNotice")
    ServiceTermination = old_apps.get_model("notices", "ServiceTermination")
    now = timezone.now()
    incident = Incident.objects.create(
        title="Before the move",
        what_happened="A test.",
        found_at=now,
        measures_taken="None.",
        advice="None.",
        audience={"kind": "all"},
    )
    update = IncidentUpdate.objects.create(incident=incident, body="Still a test.")
    transfer = TransferNotice.objects.create(
        kind="merger",
        new_controller="Before the move Ltd",
        what_changes="Nothing.",
        effective_on=now.date(),
        requires_consent=True,
    )
    transfer.purposes.add(purpose_pk)
    termination = ServiceTermination.objects.create(ends_on=now.date(), reason="Before the move")
    return {
        "Incident": incident.pk,
        "IncidentUpdate": update.pk,
        "TransferNotice": transfer.pk,
        "ServiceTermination": termination.pk,
    }


def _old_guardian_rows(old_apps):
    """A minor account, a guardianship and a guardian's document written under the old schema
    by accounts' own models; returns their primary keys by model name."""
    User = old_apps.get_model("accounts", "User")
    Minor = old_apps.get_model("accounts", "MinorAccount")
    Guardianship = old_apps.get_model("accounts", "Guardianship")
    Document = old_apps.get_model("accounts", "GuardianDocument")
    minor = User.objects.create(email="minor-before-move@example.com")
    guardian = User.objects.create(email="guardian-before-move@example.com")
    now = timezone.now()
    account = Minor.objects.create(
        user=minor, reason="signup", region="CN", age_threshold=14, adult_on=now.date()
    )
    guardianship = Guardianship.objects.create(
        minor=minor,
        guardian=guardian,
        guardian_email=guardian.email,
        invitation_nonce="n" * 43,
        expires_at=now,
    )
    document = Document.objects.create(
        guardianship=guardianship,
        storage_name="guardian/before-move.bin",
        key_id="k1",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
    )
    return {
        "MinorAccount": account.pk,
        "Guardianship": guardianship.pk,
        "GuardianDocument": document.pk,
    }


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
    announced = _old_announcements(old_apps, purpose.pk)
    guardian_rows = _old_guardian_rows(old_apps)
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
    assert MinorAccount.objects.get(pk=guardian_rows["MinorAccount"]).region == "CN"
    moved_guardianship = Guardianship.objects.get(pk=guardian_rows["Guardianship"])
    assert moved_guardianship.minor.email == "minor-before-move@example.com"
    document = GuardianDocument.objects.get(pk=guardian_rows["GuardianDocument"])
    assert document.guardianship_id == moved_guardianship.pk
    assert "The audit log is intact." in _verify("verify_audit_log")
    for model in (Incident, IncidentUpdate, TransferNotice, ServiceTermination):
        assert model.objects.count() == counts[model.__name__]
        assert model.objects.filter(pk=announced[model.__name__]).exists()
    update = IncidentUpdate.objects.select_related("incident").get(pk=announced["IncidentUpdate"])
    assert (update.incident.pk, update.incident.title) == (announced["Incident"], "Before the move")
    transfer = TransferNotice.objects.get(pk=announced["TransferNotice"])
    assert list(transfer.purposes.values_list("pk", flat=True)) == [purpose.pk]
    assert ServiceTermination.objects.get(pk=announced["ServiceTermination"]).reason == (
        "Before the move"
    )
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
    assert officers.permissions.filter(
        content_type__app_label="guardianship", codename="change_guardiandocument"
    ).exists()
    for codename in ("change_incident", "add_incidentupdate", "change_transfernotice"):
        assert officers.permissions.filter(
            content_type__app_label="announcements", codename=codename
        ).exists()
    assert (
        Group.objects.get(name="Support agents")
        .permissions.filter(
            content_type__app_label="announcements", codename="view_servicetermination"
        )
        .exists()
    )
