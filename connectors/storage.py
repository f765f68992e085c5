"""A job's result data at rest: JSON encrypted into Django's storage like export archives
(requests_dsar/crypto.py), never readable in storage, deleted with the job's erasure."""

from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from core import crypto


@dataclass(frozen=True)
class StoredResult:
    storage_name: str
    key_id: str
    content_type: str
    size: int
    sha256: str


def store_json(data: Any) -> StoredResult:
    """Encrypt `data` as JSON into storage; returns where it went."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    with tempfile.TemporaryFile() as sink:
        writer = crypto.EncryptingWriter(cast(BinaryIO, sink))
        writer.write(payload)
        writer.close()
        sink.seek(0)
        name = f"{settings.EXPORT_STORAGE_PREFIX}connectors/{secrets.token_urlsafe(24)}.enc"
        stored = default_storage.save(name, File(sink, name=name))
    return StoredResult(
        storage_name=stored,
        key_id=writer.key_id,
        content_type="application/json",
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
    )


def open_decrypted(storage_name: str) -> Iterator[bytes]:
    """The plaintext, chunk by chunk (crypto.DecryptionError if it was altered)."""
    with default_storage.open(storage_name, "rb") as source:
        yield from crypto.decrypt_chunks(cast(BinaryIO, source))


def read_json(storage_name: str) -> Any:
    return json.loads(b"".join(open_decrypted(storage_name)))


def delete(storage_name: str) -> None:
    """Remove a stored result (idempotent)."""
    if storage_name and default_storage.exists(storage_name):
        default_storage.delete(storage_name)
