"""The export engine (access, copy and transfer requests) and the archives it leaves behind.

An archive is a ZIP, encrypted at rest with `crypto.EncryptingWriter`:

    index.html                   a human-readable summary that opens offline
    manifest.json                each file's SHA-256 and size, the scope, the request, the company
    <category>/<model>.json      a JSON array, one object per line, keyed by field name
    <category>/<model>.csv       the same rows, headed by human labels (UTF-8 with a BOM)
    systems/<system>/<category>.json
                                 what each of the company's other systems (connected systems)
                                 returned for the request, one object per line; a manual
                                 system's result file as staff attached it

What goes in comes from the personal-data registry and nothing else. Memory stays bounded
however much a user holds: rows are read ROW_CHUNK at a time and written straight into the
ZIP, the ZIP streams through the encrypting writer into a temporary file (which only ever holds
ciphertext), and that file is copied to Django's default storage. Each table is read once: its
CSV is spooled (to disk beyond SPOOL_MEMORY bytes) while its JSON is written, so both files
always hold the same rows. Only the first PREVIEW_ROWS rows of each table stay in memory, for
the index.
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import io
import json
import secrets
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import islice
from typing import IO, Any, BinaryIO, cast

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django.utils.text import capfirst
from django_countries import countries
from django_countries.fields import CountryField

from accounts.models import User
from core import crypto
from core.audit import audit_append
from core.models import Actor
from core.registry import PersonalData, registry, resolve_field
from requests_dsar.models import DataSubjectRequest, ExportArchive, RequestType

from . import systems

ROW_CHUNK = 2000
PREVIEW_ROWS = 10
SPOOL_MEMORY = 1024 * 1024
COPY_CHUNK = 64 * 1024
EXPIRE_BATCH = 500
TRANSFER_TOKEN_PREFIX = "ppt_"  # noqa: S105 (a prefix, not a secret)
ARCHIVE_FORMAT = "privacy-portal-export"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
COMPRESS_LEVEL = 1
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    """The export cannot be made (for example, the subject's account no longer exists)."""


class ArchiveGone(Exception):
    """The archive or its transfer token expired, was already used, or was deleted.

    `reason` is one of "expired", "used", "deleted": a code, never personal data.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Building an archive ---------------------------------------------------------------------


class _Digest:
    """A write-only pass-through that counts and hashes the bytes going through it."""

    def __init__(self, sink: IO[bytes] | crypto.EncryptingWriter) -> None:
        self._sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._sink.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    def close(self) -> None:
        """The sink stays open: its owner closes it."""


@dataclass
class _Table:
    """One registry entry's rows in the archive: what the manifest and the index say of it."""

    entry: PersonalData
    path: str  # "<category>/<model>", without extension
    rows: int = 0
    preview: list[list[str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return capfirst(str(self.entry.model._meta.verbose_name))

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self.entry.fields.values()]

    def manifest(self) -> dict[str, Any]:
        return {
            "model": self.entry.model_label,
            "json": f"{self.path}.json",
            "csv": f"{self.path}.csv",
            "rows": self.rows,
            "fields": {name: str(label) for name, label in self.entry.fields.items()},
        }


class _ZipBuilder:
    """Writes members into a streamed ZIP and remembers each one's SHA-256 and size."""

    def __init__(self, zf: zipfile.ZipFile, stamp: datetime.datetime) -> None:
        self._zf = zf
        self._date_time = timezone.localtime(stamp).timetuple()[:6]
        self.files: list[dict[str, Any]] = []

    @contextmanager
    def member(self, name: str, *, large: bool = True) -> Iterator[_Digest]:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        # Level 1: exports are repetitive text that compresses well even at the fastest level,
        # and the default level made compression the largest cost of a heavy user's export.
        # (`_compresslevel` is how Python 3.11 spells 3.13's public `compress_level`.)
        info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
        # The ZIP is not seekable, so a member's size is unknown when it starts: ZIP64 records
        # are written up front for members that could pass 2 GiB.
        with self._zf.open(info, "w", force_zip64=large) as raw:
            digest = _Digest(raw)
            yield digest
        self.files.append({"name": name, "sha256": digest.sha256.hexdigest(), "size": digest.size})


def _json_safe(value: Any) -> Any:
    """A value as JSON can hold it: dates in ISO 8601, decimals and UUIDs as text."""
    convert = _JSON_CONVERTERS.get(type(value))
    if convert is not None:
        return convert(value)
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value  # JSON fields arrive decoded, so already JSON-safe
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def _same(value: Any) -> Any:
    return value


# The common types, found by one dictionary lookup: a heavy user's export converts millions
# of values, and the isinstance chain above is the slow path for the rest.
_JSON_CONVERTERS: dict[type, Any] = {
    str: _same,
    int: _same,
    float: _same,
    bool: _same,
    type(None): _same,
    dict: _same,
    list: _same,
    datetime.datetime: datetime.datetime.isoformat,
    datetime.date: datetime.date.isoformat,
    Decimal: str,
    uuid.UUID: str,
}
# One encoder for every row: json.dumps builds a new one per call for non-default options.
_ROW_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _model_field(model: type[models.Model], path: str) -> models.Field | None:
    """The model field at the end of an ORM path ("purpose__key"), or None."""
    field_ = None
    for part in path.split("__"):
        try:
            field_ = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        related = field_.related_model if field_.is_relation else None
        if isinstance(related, type):
            model = related
    return field_ if isinstance(field_, models.Field) else None


def _readers(entry: PersonalData, names: list[str]) -> list[Callable[[Any], str]]:
    """How the index shows each column's values to a person: a choice by its label ("Female",
    not "female"), a country by its name ("Germany", not "DE"), true/false as Yes/No. The
    JSON and CSV files keep the stored values."""
    readers: list[Callable[[Any], str]] = []
    for name in names:
        field_ = _model_field(entry.model, name)
        if isinstance(field_, CountryField):
            readers.append(_country_cell)
        elif field_ is not None and field_.choices:
            labels = {str(k): str(label) for k, label in field_.flatchoices}
            readers.append(partial(_choice_cell, labels))
        else:
            readers.append(_readable_cell)
    return readers


def _country_cell(value: Any) -> str:
    return str(countries.name(value) or value) if value else ""


def _choice_cell(labels: dict[str, str], value: Any) -> str:
    return labels.get(str(value), _cell(value)) if value not in (None, "") else ""


def _readable_cell(value: Any) -> str:
    return ("Yes" if value else "No") if isinstance(value, bool) else _cell(value)


def _cell(value: Any) -> str:
    """A JSON-safe value as a CSV cell or index cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _csv_cell(value: Any) -> Any:
    if type(value) is str:
        return "'" + value if value.startswith(_FORMULA_START) else value
    if type(value) is int:
        return value
    return _cell(value)


def _entries_in_scope(request: DataSubjectRequest) -> list[tuple[str, str, list[PersonalData]]]:
    """(category, label, entries) for every category the request covers, sorted by category.
    An entry that exports no field (the team's internal notes) is erased with the rest but
    never handed out."""
    wanted = request.scope.get("categories")
    grouped: dict[str, list[PersonalData]] = {}
    for entry in registry:
        if entry.fields and (not wanted or entry.category in wanted):
            grouped.setdefault(entry.category, []).append(entry)
    return [(key, label, grouped[key]) for key, label in registry.categories() if key in grouped]


def _table_paths(category: str, entries: list[PersonalData]) -> list[str]:
    names = [entry.model._meta.model_name or "rows" for entry in entries]
    return [
        f"{category}/{name if names.count(name) == 1 else f'{entry.model._meta.app_label}_{name}'}"
        for entry, name in zip(entries, names, strict=True)
    ]


# Field types whose values are already what JSON holds (str, int, float, bool, None).
_PLAIN_JSON_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "FloatField",
        "GenericIPAddressField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)
_TEXT_TYPES = frozenset({"CharField", "EmailField", "SlugField", "TextField", "URLField"})


def _column_plan(entry: PersonalData, names: list[str]) -> tuple[list[int], list[int], list[int]]:
    """Which columns need converting for JSON, and which need care in CSV (text, other).

    Converting only the columns that need it keeps a heavy user's export from paying a
    function call for every one of its millions of values.
    """
    to_json, csv_text, csv_other = [], [], []
    for index, name in enumerate(names):
        field: Any = resolve_field(entry.model, name)
        kind = field.get_internal_type() if field is not None else ""
        # Country fields and other custom fields report the type they are stored as.
        if kind not in _PLAIN_JSON_TYPES:
            to_json.append(index)
        if kind in _TEXT_TYPES:
            csv_text.append(index)
        elif kind not in _PLAIN_JSON_TYPES or kind == "BooleanField":
            csv_other.append(index)
    return to_json, csv_text, csv_other


def _write_table(builder: _ZipBuilder, table: _Table, user: User) -> None:
    """Stream one entry's rows for `user` into `<path>.json` and `<path>.csv`."""
    names = list(table.entry.fields)
    to_json, csv_text, csv_other = _column_plan(table.entry, names)
    readers = _readers(table.entry, names)
    rows = (
        table.entry.rows_for(user).order_by("pk").values_list(*names).iterator(chunk_size=ROW_CHUNK)
    )
    encode = _ROW_ENCODER.encode
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow([str(table.entry.fields[name]) for name in names])
        with builder.member(f"{table.path}.json") as out:
            out.write(b"[")
            while chunk := list(islice(rows, ROW_CHUNK)):
                safe_rows = [list(values) for values in chunk]
                del chunk
                for row in safe_rows:
                    for index in to_json:
                        row[index] = _json_safe(row[index])
                lines = ",\n".join(encode(dict(zip(names, row, strict=True))) for row in safe_rows)
                out.write((b",\n" if table.rows else b"\n") + lines.encode())
                del lines
                for row in safe_rows[: max(PREVIEW_ROWS - table.rows, 0)]:
                    table.preview.append(
                        [read(value) for read, value in zip(readers, row, strict=True)]
                    )
                table.rows += len(safe_rows)
                _to_csv_cells(safe_rows, csv_text, csv_other)  # in place: JSON is written
                writer.writerows(safe_rows)
            out.write(b"\n]\n")
        text.flush()
        text.detach()
        spool.seek(0)
        with builder.member(f"{table.path}.csv") as out:
            shutil.copyfileobj(spool, out, COPY_CHUNK)


def _to_csv_cells(rows: list[list[Any]], text_columns: list[int], other_columns: list[int]) -> None:
    """Turn JSON-safe rows into CSV cells, in place: formulas defused, the rest as `_cell`."""
    for row in rows:
        for index in text_columns:
            value = row[index]
            if value and value.startswith(_FORMULA_START):
                row[index] = "'" + value
        for index in other_columns:
            row[index] = _csv_cell(row[index])


_RESULT_FILE_ENDINGS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def _path_part(text: str) -> str:
    """A system's category name as a safe file name (systems name their own categories)."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(text))[:80]
    return cleaned or "data"


def _write_system_rows(builder: _ZipBuilder, path: str, rows: Any) -> int:
    rows = rows if isinstance(rows, list) else [rows]
    with builder.member(path) as out:
        lines = ",\n".join(json.dumps(_json_safe(row), ensure_ascii=False) for row in rows)
        out.write(b"[\n" + lines.encode() + b"\n]\n" if rows else b"[]\n")
    return len(rows)


def _write_systems(builder: _ZipBuilder, request: DataSubjectRequest) -> list[dict[str, Any]]:
    """Each connected system's part of the request, under `systems/<key>/`, and what the
    manifest and the index say of it (an excepted system with what the requester is told)."""
    parts: list[dict[str, Any]] = []
    for answer in systems.copy_parts(request):
        folder = f"systems/{answer.key}"
        part: dict[str, Any] = {
            "key": answer.key,
            "name": answer.name,
            "status": answer.status,
            "files": [],
            "note": "",
        }
        if answer.excepted_note is not None:
            part["note"] = f"Not included: {answer.excepted_note}"
        elif answer.rows is not None:
            data = answer.rows()
            for category, rows in data.items() if isinstance(data, dict) else []:
                path = f"{folder}/{_path_part(category)}.json"
                count = _write_system_rows(builder, path, rows)
                part["files"].append({"category": str(category), "path": path, "rows": count})
        elif answer.chunks is not None:
            ending = _RESULT_FILE_ENDINGS.get(answer.content_type, ".bin")
            path = f"{folder}/result{ending}"
            with builder.member(path) as out:
                for chunk in answer.chunks():
                    out.write(chunk)
            part["files"].append({"category": "", "path": path, "rows": None})
        if not part["files"] and not part["note"]:
            part["note"] = "This system holds nothing about you."
        parts.append(part)
    return parts


def _write_index(
    builder: _ZipBuilder,
    request: DataSubjectRequest,
    stamp: datetime.datetime,
    categories: list[tuple[str, str, list[_Table]]],
    systems: list[dict[str, Any]],
) -> None:
    html = render_to_string(
        "requests_dsar/export/index.html",
        {
            "company": settings.COMPANY_NAME,
            "reference": str(request.public_id),
            "request_type": request.get_type_display(),
            "generated_at": stamp,
            "preview_rows": PREVIEW_ROWS,
            "categories": [
                {"key": key, "label": label, "tables": tables}
                for key, label, tables in categories
                if any(table.rows for table in tables)
            ],
            # Categories with nothing held: one line, not a section each.
            "empty": [
                label for _key, label, tables in categories if not any(t.rows for t in tables)
            ],
            "systems": systems,
            # Whether the archive holds a systems/ folder at all (an excepted or empty system
            # adds none).
            "system_files": any(system["files"] for system in systems),
        },
    )
    with builder.member("index.html", large=False) as out:
        out.write(html.encode())


def _write_manifest(
    builder: _ZipBuilder,
    request: DataSubjectRequest,
    stamp: datetime.datetime,
    categories: list[tuple[str, str, list[_Table]]],
    systems: list[dict[str, Any]],
) -> None:
    manifest = {
        "format": ARCHIVE_FORMAT,
        "version": 1,
        "company": settings.COMPANY_NAME,
        "portal": settings.PORTAL_URL,
        "request": {"reference": str(request.public_id), "type": request.type},
        "generated_at": stamp.isoformat(),
        "scope": {"categories": [key for key, _label, _tables in categories]},
        "csv_encoding": "utf-8-sig",
        "categories": [
            {"key": key, "label": label, "tables": [table.manifest() for table in tables]}
            for key, label, tables in categories
        ],
        # The company's other systems: each one's files (under systems/<key>/) and status.
        "systems": systems,
        # Every other member of the archive; the manifest cannot hold its own checksum.
        "files": builder.files,
    }
    with builder.member("manifest.json", large=False) as out:
        out.write(json.dumps(manifest, ensure_ascii=False, indent=2).encode())


def _write_archive(
    zf: zipfile.ZipFile, request: DataSubjectRequest, user: User, stamp: datetime.datetime
) -> None:
    builder = _ZipBuilder(zf, stamp)
    categories: list[tuple[str, str, list[_Table]]] = []
    for key, label, entries in _entries_in_scope(request):
        tables = [
            _Table(entry=entry, path=path)
            for entry, path in zip(entries, _table_paths(key, entries), strict=True)
        ]
        for table in tables:
            _write_table(builder, table, user)
        categories.append((key, label, tables))
    systems = _write_systems(builder, request)
    _write_index(builder, request, stamp, categories, systems)
    _write_manifest(builder, request, stamp, categories, systems)


def _storage_name() -> str:
    return f"{settings.EXPORT_STORAGE_PREFIX}{secrets.token_urlsafe(32)}.zip.enc"


def fulfil_export(request: DataSubjectRequest) -> None:
    """Build the request's archive, encrypt it into storage, and record it as its one archive.

    Safe to run again for the same request (a redelivered task): the earlier archive of the
    request, file included, is replaced. Raises ExportError when the subject no longer exists.
    """
    user = request.subject
    if user is None:
        raise ExportError("The request's subject no longer exists.")
    stamp = timezone.now()
    with tempfile.TemporaryFile() as ciphertext:
        encryptor = crypto.EncryptingWriter(ciphertext)
        plaintext = _Digest(encryptor)
        with zipfile.ZipFile(
            plaintext, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as zf:
            _write_archive(zf, request, user, stamp)
        encryptor.close()
        ciphertext.seek(0)
        storage_name = default_storage.save(_storage_name(), File(ciphertext))
    try:
        _archive_record(
            request=request,
            storage_name=storage_name,
            key_id=encryptor.key_id,
            size=plaintext.size,
            sha256=plaintext.sha256.hexdigest(),
            created_at=stamp,
        )
    except BaseException:
        default_storage.delete(storage_name)  # no row points at it: never leave it behind
        raise


@transaction.atomic
def _archive_record(
    *,
    request: DataSubjectRequest,
    storage_name: str,
    key_id: str,
    size: int,
    sha256: str,
    created_at: datetime.datetime,
) -> ExportArchive:
    # Locking the request serializes two runs of the same request: one archive survives.
    DataSubjectRequest.objects.select_for_update().only("pk").get(pk=request.pk)
    for earlier in ExportArchive.objects.filter(request=request):
        archive_delete_file(earlier, reason="replaced")
        earlier.delete()
    archive = ExportArchive.objects.create(
        request=request,
        storage_name=storage_name,
        key_id=key_id,
        size=size,
        sha256=sha256,
        created_at=created_at,
        expires_at=created_at + datetime.timedelta(days=settings.DSAR_ARCHIVE_LIFETIME_DAYS),
    )
    _audit(archive, "dsar.archive_created", size=size, key_id=key_id)
    return archive


def _audit(
    archive: ExportArchive,
    action: str,
    *,
    actor_user_id: int | None = None,
    actor_role: str = Actor.SYSTEM,
    **data: Any,
) -> None:
    audit_append(
        action=action,
        actor_user_id=actor_user_id,
        actor_role=actor_role,
        target_type="dsar_archive",
        target_id=archive.pk,
        data={"request": archive.request_id, **data},
    )


# --- Reading and deleting archives -------------------------------------------------------------


class _DecryptedStream:
    """The plaintext of a stored archive, chunk by chunk; close() releases the stored file."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        # decrypt_chunks is a generator: closing it stops it cleanly mid-file.
        self._chunks = cast(Generator[bytes, None, None], crypto.decrypt_chunks(source))

    def __iter__(self) -> _DecryptedStream:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        self._source.close()


def archive_open_decrypted(archive: ExportArchive) -> Iterator[bytes]:
    """Stream the plaintext ZIP from storage in chunks of at most 64 KiB.

    Raises ArchiveGone for an expired or deleted archive and FileNotFoundError when its file is
    missing, before anything is read. crypto.DecryptionError is raised while iterating if the
    stored file was altered or truncated. The caller closes the iterator (a
    StreamingHttpResponse does) to release the file.
    """
    return _open_stream(archive)


def _open_stream(archive: ExportArchive) -> _DecryptedStream:
    if archive.deleted_at is not None:
        raise ArchiveGone("deleted")
    if archive.is_expired:
        raise ArchiveGone("expired")
    return _DecryptedStream(cast(BinaryIO, default_storage.open(archive.storage_name, "rb")))


def archive_delete_file(archive: ExportArchive, *, reason: str = "deleted") -> None:
    """Remove the archive's file from storage and mark the archive deleted (idempotent).

    Used when an archive expires, is replaced, or its owner's data is erased.
    """
    if archive.deleted_at is not None:
        return
    default_storage.delete(archive.storage_name)
    archive.deleted_at = timezone.now()
    ExportArchive.objects.filter(pk=archive.pk).update(deleted_at=archive.deleted_at)
    _audit(archive, "dsar.archive_deleted", reason=reason)


def archives_expire(*, now: datetime.datetime | None = None) -> int:
    """Delete the files of archives past their expiry (a batch per call). Returns how many."""
    now = now or timezone.now()
    due = ExportArchive.objects.filter(deleted_at__isnull=True, expires_at__lte=now)
    expired = 0
    for archive in due.order_by("pk")[:EXPIRE_BATCH]:
        archive_delete_file(archive, reason="expired")
        expired += 1
    return expired


@contextmanager
def _plaintext_zip(archive: ExportArchive) -> Iterator[zipfile.ZipFile]:
    stream = _open_stream(archive)
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            for chunk in stream:
                spool.write(chunk)
            spool.seek(0)
            with zipfile.ZipFile(spool) as zf:
                yield zf
    finally:
        stream.close()


def _json_lines(member: IO[bytes]) -> Iterator[dict[str, Any]]:
    # The exporter writes one object per line: "[", "{...},", ..., "{...}", "]".
    for raw in member:
        line = raw.strip()
        if line and line not in (b"[", b"]"):
            yield json.loads(line.removesuffix(b","))


def archive_manifest(archive: ExportArchive) -> dict[str, Any]:
    """The archive's manifest.json: its categories, tables, labels and row counts."""
    with _plaintext_zip(archive) as zf:
        return json.loads(zf.read("manifest.json"))


def archive_read_category(
    archive: ExportArchive, category: str, offset: int = 0, limit: int = 50
) -> list[dict[str, Any]]:
    """Rows `offset` to `offset + limit` of one category, keyed by field name.

    A category with several tables is read table after table, in the manifest's order (see
    `archive_manifest` for which table holds how many rows). Memory: the archive is decrypted
    into a spooled temporary file (on disk beyond 1 MiB) and the category's JSON is read line by
    line, so only the requested rows are held; each call decrypts the whole archive once.
    Raises ArchiveGone for an expired or deleted archive.
    """
    prefix = f"{category}/"
    with _plaintext_zip(archive) as zf:
        names = [n for n in zf.namelist() if n.startswith(prefix) and n.endswith(".json")]

        def rows() -> Iterator[dict[str, Any]]:
            for name in names:
                with zf.open(name) as member:
                    yield from _json_lines(member)

        return list(islice(rows(), max(offset, 0), max(offset, 0) + max(limit, 0)))


# --- Transfers: a one-time token another service pulls the archive with ---------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _is_owner(user: User | None, request: DataSubjectRequest) -> bool:
    from .selectors import may_follow

    return may_follow(user, request)


@transaction.atomic
def transfer_token_issue(*, archive: ExportArchive, actor: User) -> str:
    """Issue a fresh one-time pull token for a transfer archive and return it, to show once.

    Only its SHA-256 is stored, so a lost token cannot be shown again: issuing replaces the
    previous token (which stops working) and allows one more pull. The token expires with the
    archive. Raises PermissionDenied unless `actor` is the request's subject or requester,
    ValidationError for an archive of another request type, ArchiveGone for an expired one.
    """
    request = archive.request
    if not _is_owner(actor, request):
        raise PermissionDenied("Only the requester can issue a transfer token.")
    if request.type != RequestType.TRANSFER:
        raise ValidationError("Only a transfer request's archive can be pulled by another service.")
    locked = ExportArchive.objects.select_for_update().get(pk=archive.pk)
    if locked.is_expired:
        raise ArchiveGone("deleted" if locked.deleted_at else "expired")
    token = TRANSFER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    ExportArchive.objects.filter(pk=archive.pk).update(
        pull_token_hash=_token_hash(token),
        pull_token_expires_at=locked.expires_at,
        pulled_at=None,
        pulled_by="",
    )
    archive.refresh_from_db()
    _audit(
        archive, "dsar.transfer_token_issued", actor_user_id=actor.pk, actor_role=Actor.REQUESTER
    )
    return token


def _pull_refusal(archive: ExportArchive, now: datetime.datetime) -> str:
    if archive.deleted_at is not None:
        return "deleted"
    if archive.pulled_at is not None:
        return "used"
    token_expires_at = archive.pull_token_expires_at
    if archive.is_expired or token_expires_at is None or token_expires_at <= now:
        return "expired"
    return ""


@transaction.atomic
def _transfer_claim(token: str, client_description: str) -> tuple[ExportArchive | None, str]:
    archive = (
        ExportArchive.objects.select_for_update().filter(pull_token_hash=_token_hash(token)).first()
    )
    if archive is None:
        audit_append(
            action="dsar.transfer_pull_refused", actor_user_id=None, data={"reason": "unknown"}
        )
        return None, "unknown"
    now = timezone.now()
    refusal = _pull_refusal(archive, now)
    if refusal:
        _audit(archive, "dsar.transfer_pull_refused", reason=refusal)
        return archive, refusal
    archive.pulled_at, archive.pulled_by = now, client_description[:200]
    archive.save(update_fields=["pulled_at", "pulled_by"])
    _audit(archive, "dsar.transfer_pulled", client=archive.pulled_by)
    return archive, ""


def transfer_pull(*, token: str, client_description: str) -> ExportArchive | None:
    """Redeem a transfer token: the archive it opens, once, or None for an unknown token.

    The token is looked up by its SHA-256 (so the comparison leaks nothing about the token) and
    used up at once: a second pull, an expired token and a deleted archive raise ArchiveGone.
    `client_description` is a short, non-personal name of the pulling client (its user-agent
    product) kept in `pulled_by`. Every attempt is audited.
    """
    archive, refusal = _transfer_claim(token, client_description)
    if refusal == "unknown":
        return None
    if refusal:
        raise ArchiveGone(refusal)
    return archive
