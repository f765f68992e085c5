"""Documents people upload as proof: checked by their bytes, encrypted at rest, deleted on time.

Only PDF, JPEG and PNG are taken, and what decides is the file's first bytes, never the name or
the content type the browser claims: a renamed executable is refused. The file is encrypted
with the export keys (requests_dsar.crypto) before it reaches storage, so storage never holds
a readable copy. Errors name the rule broken, never the file's content.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from . import crypto

# Content type -> (accepted file name endings, the bytes such a file starts with).
ACCEPTED: dict[str, tuple[tuple[str, ...], bytes]] = {
    "application/pdf": ((".pdf",), b"%PDF-"),
    "image/jpeg": ((".jpg", ".jpeg"), b"\xff\xd8\xff"),
    "image/png": ((".png",), b"\x89PNG\r\n\x1a\n"),
}
ACCEPTED_DESCRIPTION = "PDF, JPEG or PNG"
_SNIFF_BYTES = 16


def sniff_content_type(head: bytes) -> str | None:
    """The accepted type a file's first bytes show, or None."""
    for content_type, (_endings, magic) in ACCEPTED.items():
        if head.startswith(magic):
            return content_type
    return None


def validate_upload(upload: UploadedFile) -> str:
    """The upload's real content type; ValidationError with a clear message otherwise."""
    limit = settings.DSAR_UPLOAD_MAX_BYTES
    size = upload.size or 0
    if size == 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > limit:
        raise ValidationError(
            f"The file is too large: at most {filesizeformat(limit)}.", code="too_large"
        )
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    upload.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise ValidationError(
            f"Only {ACCEPTED_DESCRIPTION} files are accepted; this file is none of them.",
            code="wrong_type",
        )
    name = (upload.name or "").lower()
    if not name.endswith(ACCEPTED[content_type][0]):
        raise ValidationError(
            "The file's name does not match its content: rename it with the right ending "
            f"({', '.join(ACCEPTED[content_type][0])}).",
            code="name_mismatch",
        )
    return content_type


@dataclass(frozen=True)
class StoredUpload:
    """Where an encrypted upload went: the columns of the row that keeps it."""

    storage_name: str
    key_id: str
    content_type: str
    size: int
    sha256: str

    def fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def store_chunks(chunks: Iterable[bytes], *, prefix: str, content_type: str) -> StoredUpload:
    """Encrypt `chunks` into Django's storage under a random name starting with `prefix`
    (never written there in clear). Returns where it went."""
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as sink:
        writer = crypto.EncryptingWriter(cast(BinaryIO, sink))
        for chunk in chunks:
            digest.update(chunk)
            writer.write(chunk)
        writer.close()
        sink.seek(0)
        name = f"{prefix}{secrets.token_urlsafe(24)}.enc"
        stored_name = default_storage.save(name, File(sink, name=name))
    return StoredUpload(
        storage_name=stored_name,
        key_id=writer.key_id,
        content_type=content_type,
        size=writer.plaintext_size,
        sha256=digest.hexdigest(),
    )


def store_encrypted(upload: UploadedFile, *, folder: str) -> StoredUpload:
    """Validate and encrypt an upload into storage under `folder`. Returns where it went."""
    content_type = validate_upload(upload)
    upload.seek(0)
    return store_chunks(
        upload.chunks(),
        prefix=f"{settings.UPLOAD_STORAGE_PREFIX}{folder}/",
        content_type=content_type,
    )


def open_decrypted(storage_name: str) -> Iterator[bytes]:
    """The plaintext of a stored file, chunk by chunk (crypto.DecryptionError if altered)."""
    with default_storage.open(storage_name, "rb") as source:
        yield from crypto.decrypt_chunks(cast(BinaryIO, source))


def delete_stored(storage_name: str) -> None:
    """Remove a stored file (idempotent)."""
    if storage_name and default_storage.exists(storage_name):
        default_storage.delete(storage_name)
