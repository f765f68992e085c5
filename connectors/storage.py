"""A job's result data at rest: JSON encrypted into Django's storage like uploads and export
archives (core/uploads.py), never readable in storage, deleted with the job's erasure."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from core import uploads
from core.uploads import StoredUpload as StoredResult
from core.uploads import delete_stored as delete
from core.uploads import open_decrypted

__all__ = ["StoredResult", "delete", "open_decrypted", "read_json", "store_json"]


def store_json(data: Any) -> StoredResult:
    """Encrypt `data` as JSON into storage; returns where it went."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return uploads.store_chunks(
        [payload],
        prefix=f"{settings.EXPORT_STORAGE_PREFIX}connectors/",
        content_type="application/json",
    )


def read_json(storage_name: str) -> Any:
    return json.loads(b"".join(open_decrypted(storage_name)))
