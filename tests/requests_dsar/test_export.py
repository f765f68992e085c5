"""The export engine: what an archive holds, how it is stored, replaced, read and transferred."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
import tracemalloc
import zipfile

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import AccessLogEntry
from core.models import AuditLogEntry
from core.registry import registry
from requests_dsar import export, services, sweeps
from requests_dsar.models import DataSubjectRequest, ExportArchive, Status
from tests.factories import AccessLogEntryFactory, LoginEventFactory, ProfileFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def fulfil(user, type="copy", scope=None) -> DataSubjectRequest:
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, scope=scope, reauthenticated=True
    )
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    return request


def open_zip(archive: ExportArchive) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(export.archive_open_decrypted(archive))))


def json_member(zf: zipfile.ZipFile, name: str):
    return json.loads(zf.read(name))


@pytest.fixture
def rich_user(user):
    ProfileFactory(user=user, bio="Likes <b>bold</b> & 'quotes'")
    LoginEventFactory.create_batch(3, user=user)
    AccessLogEntryFactory.create_batch(4, user=user)
    return user


# --- Contents -----------------------------------------------------------------------------------


def test_an_export_completes_the_request_with_one_archive(rich_user):
    request = fulfil(rich_user)
    assert request.status == Status.COMPLETED
    assert request.archives.count() == 1


def test_every_registered_category_is_in_the_archive(rich_user):
    archive = fulfil(rich_user).archives.get()
    names = set(open_zip(archive).namelist())
    for entry in (e for e in registry if e.fields):  # the team's notes are never handed out
        folder = f"{entry.category}/{entry.model._meta.model_name}"
        assert {f"{folder}.json", f"{folder}.csv"} <= names, entry.model_label


def test_json_rows_match_the_database(rich_user):
    archive = fulfil(rich_user).archives.get()
    rows = json_member(open_zip(archive), "login_history/loginevent.json")
    expected = rich_user.login_events.order_by("pk")
    assert [r["ip_address"] for r in rows] == [e.ip_address for e in expected]
    assert rows[0]["created_at"] == expected[0].created_at.isoformat()
    assert set(rows[0]) == set(registry.get(type(expected[0])).fields)


def test_profile_values_are_exported_as_json_safe_values(rich_user):
    archive = fulfil(rich_user).archives.get()
    [profile] = json_member(open_zip(archive), "profile/profile.json")
    assert profile["bio"] == "Likes <b>bold</b> & 'quotes'"
    assert profile["birth_date"] == rich_user.profile.birth_date.isoformat()


def test_json_fields_dates_and_uuids_become_plain_json(rich_user):
    request = fulfil(rich_user)
    rows = json_member(open_zip(request.archives.get()), "requests/datasubjectrequest.json")
    [row] = [r for r in rows if r["public_id"] == str(request.public_id)]
    assert row["scope"] == {}
    assert row["received_at"] == request.received_at.isoformat()


def test_csv_has_human_labels_as_header_and_the_same_rows(rich_user):
    archive = fulfil(rich_user).archives.get()
    text = open_zip(archive).read("access_log/accesslogentry.csv").decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == list(registry.get(AccessLogEntry).fields.values())
    assert len(rows) == 4


def test_a_formula_in_a_csv_cell_is_neutralized(user):
    ProfileFactory(user=user, name="=HYPERLINK(1)")
    archive = fulfil(user).archives.get()
    zf = open_zip(archive)
    rows = list(csv.reader(io.StringIO(zf.read("profile/profile.csv").decode("utf-8-sig"))))
    assert rows[1][0] == "'=HYPERLINK(1)"
    assert json_member(zf, "profile/profile.json")[0]["name"] == "=HYPERLINK(1)"


def test_another_users_rows_never_reach_the_archive(rich_user):
    stranger = UserFactory()
    LoginEventFactory(user=stranger, ip_address="192.0.2.99")
    archive = fulfil(rich_user).archives.get()
    plaintext = b"".join(export.archive_open_decrypted(archive))
    assert b"192.0.2.99" not in plaintext
    assert stranger.email.encode() not in _all_members(open_zip(archive))


def _all_members(zf: zipfile.ZipFile) -> bytes:
    return b"".join(zf.read(name) for name in zf.namelist())


def test_manifest_checksums_and_sizes_match_the_files(rich_user):
    zf = open_zip(fulfil(rich_user).archives.get())
    manifest = json_member(zf, "manifest.json")
    assert {f["name"] for f in manifest["files"]} == set(zf.namelist()) - {"manifest.json"}
    for listed in manifest["files"]:
        content = zf.read(listed["name"])
        assert (hashlib.sha256(content).hexdigest(), len(content)) == (
            listed["sha256"],
            listed["size"],
        )


def test_manifest_names_the_request_the_scope_and_the_company(rich_user, settings):
    request = fulfil(rich_user)
    manifest = json_member(open_zip(request.archives.get()), "manifest.json")
    assert manifest["request"] == {"reference": str(request.public_id), "type": "copy"}
    assert manifest["company"] == settings.COMPANY_NAME
    exported = {entry.category for entry in registry if entry.fields}
    assert manifest["scope"]["categories"] == [
        key for key, _label in registry.categories() if key in exported
    ]


def test_the_archive_checksum_is_of_the_plaintext_zip(rich_user):
    archive = fulfil(rich_user).archives.get()
    plaintext = b"".join(export.archive_open_decrypted(archive))
    assert (archive.sha256, archive.size) == (hashlib.sha256(plaintext).hexdigest(), len(plaintext))


def test_the_index_lists_every_category_with_its_row_count(rich_user):
    html = open_zip(fulfil(rich_user).archives.get()).read("index.html").decode()
    exported = {entry.label for entry in registry if entry.fields}  # not the team's own notes
    for _key, label in registry.categories():
        assert label in html or label not in exported
    assert "4 rows" in html  # the activity log


def test_the_index_shows_codes_as_a_person_reads_them_and_the_files_keep_them(user):
    ProfileFactory(user=user, gender="female", region="DE", education="master")
    zf = open_zip(fulfil(user).archives.get())
    html = zf.read("index.html").decode()
    profile = html[html.index('<section id="profile">') :]
    profile = profile[: profile.index("</section>")]
    for shown in (
        "<td>Female</td>",
        "<td>Germany</td>",
        "<td>Master&#x27;s degree or equivalent</td>",
    ):
        assert shown in profile
    assert "<td>female</td>" not in profile and "<td>DE</td>" not in profile
    [stored] = json.loads(zf.read("profile/profile.json"))
    assert (stored["gender"], stored["region"]) == ("female", "DE")


def test_categories_with_nothing_held_are_one_line_not_a_section_each(user):
    ProfileFactory(user=user)
    zf = open_zip(fulfil(user).archives.get())
    html = zf.read("index.html").decode()
    assert '<section id="profile">' in html
    assert '<section id="access_log">' not in html
    line = html[html.index("Nothing held about you in:") :].split("</p>")[0]
    assert "Activity log" in line and "Profile" not in line
    # The files are there all the same, for a program reading every category.
    assert any(name.startswith("access_log/") for name in zf.namelist())


def test_the_index_loads_nothing_from_outside_the_archive(rich_user):
    html = open_zip(fulfil(rich_user).archives.get()).read("index.html").decode()
    assert not re.search(r"https?:|//|src=|@import|url\(", html)
    assert "default-src 'none'" in html


def test_the_index_escapes_the_data_it_shows(rich_user):
    html = open_zip(fulfil(rich_user).archives.get()).read("index.html").decode()
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_scope_limits_the_archive_to_the_chosen_categories(rich_user):
    request = fulfil(rich_user, scope={"categories": ["profile", "login_history"]})
    zf = open_zip(request.archives.get())
    folders = {name.split("/")[0] for name in zf.namelist() if "/" in name}
    assert folders == {"profile", "login_history"}
    assert json_member(zf, "manifest.json")["scope"]["categories"] == ["login_history", "profile"]


# --- Storage --------------------------------------------------------------------------------------


def test_the_stored_archive_is_not_plaintext(rich_user):
    archive = fulfil(rich_user).archives.get()
    with default_storage.open(archive.storage_name, "rb") as stored:
        ciphertext = stored.read()
    assert rich_user.email.encode() not in ciphertext
    assert b"PK\x03\x04" not in ciphertext
    assert archive.storage_name.startswith("exports/")


def test_the_archive_expires_after_the_configured_lifetime(rich_user, settings):
    settings.DSAR_ARCHIVE_LIFETIME_DAYS = 3
    archive = fulfil(rich_user).archives.get()
    assert archive.expires_at - archive.created_at == datetime.timedelta(days=3)


def test_a_redelivered_export_leaves_one_archive_and_removes_the_earlier_file(rich_user):
    request = fulfil(rich_user)
    first = request.archives.get()
    export.fulfil_export(request)  # the task, delivered a second time
    [second] = request.archives.all()
    assert second.pk != first.pk
    assert not default_storage.exists(first.storage_name)
    assert default_storage.exists(second.storage_name)


def test_an_export_of_an_erased_subject_fails_without_personal_data(rich_user):
    request = fulfil(rich_user)
    request.subject = None
    with pytest.raises(export.ExportError) as caught:
        export.fulfil_export(request)
    assert rich_user.email not in str(caught.value)


def test_audit_entries_of_an_export_carry_ids_only(rich_user):
    request = fulfil(rich_user)
    entry = AuditLogEntry.objects.get(action="dsar.archive_created")
    assert (entry.target_id, entry.data["request"]) == (str(request.archives.get().pk), request.pk)
    assert rich_user.email not in json.dumps(entry.data)


def test_deleting_an_archive_file_removes_it_from_storage_and_marks_it(rich_user):
    archive = fulfil(rich_user).archives.get()
    export.archive_delete_file(archive)
    archive.refresh_from_db()
    assert archive.deleted_at is not None
    assert not default_storage.exists(archive.storage_name)


def test_a_deleted_archive_cannot_be_opened(rich_user):
    archive = fulfil(rich_user).archives.get()
    export.archive_delete_file(archive)
    with pytest.raises(export.ArchiveGone):
        export.archive_open_decrypted(archive)


def test_the_sweep_deletes_expired_archives_only(rich_user):
    archive = fulfil(rich_user).archives.get()
    assert export.archives_expire() == 0
    with time_machine.travel(archive.expires_at + datetime.timedelta(seconds=1)):
        assert export.archives_expire() == 1
    assert not default_storage.exists(archive.storage_name)


def test_the_periodic_request_sweep_expires_archives(rich_user):
    archive = fulfil(rich_user).archives.get()
    with time_machine.travel(archive.expires_at + datetime.timedelta(minutes=10)):
        sweeps.sweep()
    archive.refresh_from_db()
    assert archive.deleted_at is not None


# --- Reading online (access requests) -------------------------------------------------------------


def test_reading_a_category_pages_through_its_rows(user):
    AccessLogEntryFactory.create_batch(7, user=user)
    archive = fulfil(user, type="access").archives.get()
    page = export.archive_read_category(archive, "access_log", offset=5, limit=5)
    paths = list(user.access_log.order_by("pk").values_list("path", flat=True))
    assert [row["path"] for row in page] == paths[5:7]


def test_reading_a_category_of_several_tables_reads_them_in_turn(rich_user):
    request = fulfil(rich_user, type="access")
    rows = export.archive_read_category(request.archives.get(), "requests", 0, 100)
    assert any(row.get("public_id") == str(request.public_id) for row in rows)
    assert any("to_status" in row for row in rows)


def test_the_manifest_can_be_read_for_the_online_view(rich_user):
    archive = fulfil(rich_user, type="access").archives.get()
    manifest = export.archive_manifest(archive)
    [login] = [c for c in manifest["categories"] if c["key"] == "login_history"]
    assert login["tables"][0]["rows"] == 3


# --- Transfers ------------------------------------------------------------------------------------


@pytest.fixture
def transfer_archive(rich_user) -> ExportArchive:
    return fulfil(rich_user, type="transfer").archives.get()


def test_a_transfer_token_opens_its_archive_once(transfer_archive, rich_user):
    token = export.transfer_token_issue(archive=transfer_archive, actor=rich_user)
    pulled = export.transfer_pull(token=token, client_description="curl")
    assert pulled == transfer_archive
    with pytest.raises(export.ArchiveGone) as caught:
        export.transfer_pull(token=token, client_description="curl")
    assert caught.value.reason == "used"


def test_only_the_hash_of_a_transfer_token_is_stored(transfer_archive, rich_user):
    token = export.transfer_token_issue(archive=transfer_archive, actor=rich_user)
    transfer_archive.refresh_from_db()
    assert transfer_archive.pull_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert transfer_archive.pull_token_expires_at == transfer_archive.expires_at


def test_a_transfer_token_expires_with_the_archive(transfer_archive, rich_user):
    token = export.transfer_token_issue(archive=transfer_archive, actor=rich_user)
    with (
        time_machine.travel(transfer_archive.expires_at + datetime.timedelta(minutes=1)),
        pytest.raises(export.ArchiveGone),
    ):
        export.transfer_pull(token=token, client_description="curl")


def test_an_unknown_transfer_token_opens_nothing(transfer_archive):
    assert export.transfer_pull(token="ppt_guessed", client_description="curl") is None


def test_a_reissued_token_replaces_the_previous_one(transfer_archive, rich_user):
    first = export.transfer_token_issue(archive=transfer_archive, actor=rich_user)
    second = export.transfer_token_issue(archive=transfer_archive, actor=rich_user)
    assert export.transfer_pull(token=first, client_description="curl") is None
    assert export.transfer_pull(token=second, client_description="curl") == transfer_archive


def test_a_pull_records_the_client_product_and_is_audited(transfer_archive, rich_user):
    token = export.transfer_token_issue(archive=transfer_archive, actor=rich_user)
    export.transfer_pull(token=token, client_description="python-requests")
    transfer_archive.refresh_from_db()
    assert transfer_archive.pulled_by == "python-requests"
    entry = AuditLogEntry.objects.get(action="dsar.transfer_pulled")
    assert entry.target_id == str(transfer_archive.pk)


def test_only_the_requester_can_issue_a_transfer_token(transfer_archive):
    with pytest.raises(PermissionDenied):
        export.transfer_token_issue(archive=transfer_archive, actor=UserFactory())


def test_a_copy_archive_cannot_be_transferred(rich_user):
    archive = fulfil(rich_user, type="copy").archives.get()
    with pytest.raises(ValidationError):
        export.transfer_token_issue(archive=archive, actor=rich_user)


# --- Memory ---------------------------------------------------------------------------------------

HEAVY_ROWS = 20_000
# Generous, and far below the data: each row is about 1 kB, so the activity log alone makes
# about 20 MB of JSON and as much CSV. A streaming export holds one database chunk (2,000
# rows), the CSV spool's first megabyte and the ZIP's buffers.
PEAK_BOUND = 10 * 2**20


def _heavy_access_log(user) -> None:
    now = timezone.now()
    AccessLogEntry.objects.bulk_create(
        (
            AccessLogEntry(
                user=user,
                created_at=now,
                ip_address="198.51.100.7",
                method="GET",
                path=f"/dashboard/page/{i}/" + "p" * 400,
                status_code=200,
                user_agent="Mozilla/5.0 (X11; Linux x86_64) " + "x" * 450,
            )
            for i in range(HEAVY_ROWS)
        ),
        batch_size=2000,
    )


def test_exporting_a_heavy_user_keeps_memory_bounded(user):
    fulfil(UserFactory())  # first use: imports and compiled templates are not the export's
    _heavy_access_log(user)
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type="copy", reauthenticated=True
    )
    tracemalloc.start()
    try:
        services.dsar_process(request_id=request.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    files = export.archive_manifest(request.archives.get())["files"]
    [json_size] = [f["size"] for f in files if f["name"] == "access_log/accesslogentry.json"]
    assert json_size > 2 * PEAK_BOUND  # the bound proves rows were streamed, not loaded
    assert peak < PEAK_BOUND, f"peak traced memory {peak / 2**20:.1f} MB"
