"""Encryption at rest: files (export archives, proof uploads) and secrets in database fields.

Files: chunked authenticated encryption.

AES-256-GCM over 64 KiB chunks (the STREAM construction): each chunk's nonce is a random
per-file prefix, the chunk's counter and a last-chunk flag, and every chunk authenticates the
file header. Reordered, truncated, extended or altered files fail to decrypt. Memory stays at
one chunk however large the file. Keys come from EXPORT_ENCRYPTION_KEYS ("id:base64", newest
first); the key id is stored in the header so older keys keep decrypting after a rotation.

Fields (MFA secrets, connected systems' secrets and DSNs): Fernet under FIELD_ENCRYPTION_KEYS.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"PPX1"
CHUNK_SIZE = 64 * 1024
_PREFIX_LEN = 7
_LEN = struct.Struct(">I")


class DecryptionError(Exception):
    """The file was altered, truncated, or encrypted with an unknown key."""


def _keyring() -> dict[str, bytes]:
    entries = list(settings.EXPORT_ENCRYPTION_KEYS)
    if not entries:
        # Development only: production refuses to start without EXPORT_ENCRYPTION_KEYS.
        derived = hashlib.sha256(("exports:" + settings.SECRET_KEY).encode()).digest()
        return {"dev": derived}
    ring: dict[str, bytes] = {}
    for entry in entries:
        key_id, sep, encoded = entry.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise ImproperlyConfigured("EXPORT_ENCRYPTION_KEYS: a key is not base64.") from exc
        if not sep or not key_id or len(key) != 32 or len(key_id) > 40:
            raise ImproperlyConfigured(
                "EXPORT_ENCRYPTION_KEYS entries are 'id:base64' with a 32-byte key."
            )
        ring[key_id] = key
    return ring


def current_key_id() -> str:
    return next(iter(_keyring()))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object that encrypts into `sink` chunk by chunk."""

    def __init__(self, sink: BinaryIO, key_id: str | None = None) -> None:
        ring = _keyring()
        self.key_id = key_id or next(iter(ring))
        self._aead = AESGCM(ring[self.key_id])
        self._prefix = os.urandom(_PREFIX_LEN)
        encoded_id = self.key_id.encode()
        self._header = MAGIC + bytes([len(encoded_id)]) + encoded_id + self._prefix
        self._sink = sink
        self._sink.write(self._header)
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        self.plaintext_size = 0

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed EncryptingWriter")
        self._buffer += data
        self.plaintext_size += len(data)
        # Keep at least one byte back so the last chunk is always written by close().
        while len(self._buffer) > CHUNK_SIZE:
            self._emit(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self._header)
        self._sink.write(_LEN.pack(len(sealed)) + sealed)
        self._counter += 1

    def flush(self) -> None:
        """Buffered data is sealed in whole chunks; nothing to flush before close()."""

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True

    def writable(self) -> bool:
        return True

    def __enter__(self) -> EncryptingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_exact(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise DecryptionError("the file is truncated")
    return data


def decrypt_chunks(source: BinaryIO) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk; raises DecryptionError on any tampering."""
    if source.read(len(MAGIC)) != MAGIC:
        raise DecryptionError("not an encrypted archive")
    id_len = _read_exact(source, 1)[0]
    key_id_bytes = _read_exact(source, id_len)
    prefix = _read_exact(source, _PREFIX_LEN)
    key = _keyring().get(key_id_bytes.decode(errors="replace"))
    if key is None:
        raise DecryptionError("encrypted with a key that is no longer configured")
    header = MAGIC + bytes([id_len]) + key_id_bytes + prefix
    aead = AESGCM(key)
    counter = 0
    while True:
        length_bytes = source.read(_LEN.size)
        if not length_bytes:
            raise DecryptionError("the file is truncated (no last chunk)")
        sealed = _read_exact(source, _LEN.unpack(_read_exact_from(length_bytes))[0])
        for last in (False, True):
            try:
                chunk = aead.decrypt(_nonce(prefix, counter, last), sealed, header)
            except InvalidTag:
                continue
            break
        else:
            raise DecryptionError("a chunk failed authentication")
        counter += 1
        yield chunk
        if last:
            if source.read(1):
                raise DecryptionError("data after the last chunk")
            return


def _read_exact_from(length_bytes: bytes) -> bytes:
    if len(length_bytes) != _LEN.size:
        raise DecryptionError("the file is truncated")
    return length_bytes


def field_fernet() -> MultiFernet:
    """Encryption of secrets kept in database fields (MFA secrets, connector secrets and DSNs),
    under FIELD_ENCRYPTION_KEYS: newest first, older ones still decrypt."""
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        # Development only (production refuses to start without keys): derive from SECRET_KEY.
        digest = hashlib.sha256(("mfa-secrets:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


class SealedValueUnreadable(Exception):
    """Encrypted with a key that is no longer configured, or altered."""


def seal(text: str) -> str:
    """A short secret for a database field (a connector's secret, a code waiting to be
    e-mailed), encrypted under FIELD_ENCRYPTION_KEYS."""
    return field_fernet().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return field_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SealedValueUnreadable(
            "the value cannot be decrypted with the configured keys"
        ) from exc
