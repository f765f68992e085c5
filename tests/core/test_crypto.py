"""Archives at rest: chunked AES-GCM that refuses any tampering and survives key rotation."""

from __future__ import annotations

import base64
import io
import os

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core import crypto
from requests_dsar import export, services

OLD_KEY = "2024:" + base64.b64encode(b"o" * 32).decode()
NEW_KEY = "2025:" + base64.b64encode(b"n" * 32).decode()
PLAINTEXT = os.urandom(3 * crypto.CHUNK_SIZE + 123)  # three whole chunks and a short last one


@pytest.fixture(autouse=True)
def _keys_and_storage(settings, tmp_path):
    settings.EXPORT_ENCRYPTION_KEYS = [OLD_KEY]
    settings.MEDIA_ROOT = str(tmp_path)


def encrypt(data: bytes = PLAINTEXT) -> bytes:
    sink = io.BytesIO()
    with crypto.EncryptingWriter(sink) as writer:
        writer.write(data)
    return sink.getvalue()


def decrypt(data: bytes) -> bytes:
    return b"".join(crypto.decrypt_chunks(io.BytesIO(data)))


def header_length(data: bytes) -> int:
    return len(crypto.MAGIC) + 1 + data[len(crypto.MAGIC)] + 7


def test_what_is_encrypted_decrypts_to_the_same_bytes():
    assert decrypt(encrypt()) == PLAINTEXT


def test_the_ciphertext_does_not_contain_the_plaintext():
    data = b"person@example.org " * 1000
    assert b"person@example.org" not in encrypt(data)


def test_an_altered_byte_is_refused():
    data = bytearray(encrypt())
    data[header_length(data) + 100] ^= 0x01
    with pytest.raises(crypto.DecryptionError):
        decrypt(bytes(data))


def test_an_altered_header_is_refused():
    data = bytearray(encrypt())
    data[header_length(data) - 1] ^= 0x01  # the nonce prefix, authenticated by every chunk
    with pytest.raises(crypto.DecryptionError):
        decrypt(bytes(data))


def test_a_file_cut_at_a_chunk_boundary_is_refused():
    data = encrypt()
    sealed_chunk = 4 + crypto.CHUNK_SIZE + 16
    cut = header_length(data) + 2 * sealed_chunk  # two whole chunks, no last chunk
    with pytest.raises(crypto.DecryptionError):
        decrypt(data[:cut])


def test_a_file_cut_mid_chunk_is_refused():
    data = encrypt()
    with pytest.raises(crypto.DecryptionError):
        decrypt(data[:-10])


def test_bytes_after_the_last_chunk_are_refused():
    with pytest.raises(crypto.DecryptionError):
        decrypt(encrypt() + b"\x00")


def test_swapped_chunks_are_refused():
    data = encrypt()
    start, size = header_length(data), 4 + crypto.CHUNK_SIZE + 16
    first, second = data[start : start + size], data[start + size : start + 2 * size]
    swapped = data[:start] + second + first + data[start + 2 * size :]
    with pytest.raises(crypto.DecryptionError):
        decrypt(swapped)


def test_a_file_written_with_an_old_key_decrypts_after_rotation(settings):
    data = encrypt()
    settings.EXPORT_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert decrypt(data) == PLAINTEXT


def test_new_files_are_written_with_the_first_key(settings):
    settings.EXPORT_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert crypto.current_key_id() == "2025"
    assert b"2025" in encrypt()[: header_length(encrypt())]


def test_a_file_whose_key_was_removed_is_refused(settings):
    data = encrypt()
    settings.EXPORT_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.DecryptionError):
        decrypt(data)


@pytest.mark.parametrize(
    "entry", ["nokey", "id:not-base64!", "id:" + base64.b64encode(b"short").decode()]
)
def test_a_malformed_key_setting_is_refused(settings, entry):
    settings.EXPORT_ENCRYPTION_KEYS = [entry]
    with pytest.raises(ImproperlyConfigured):
        crypto.current_key_id()


# --- Archives: the same guarantees end to end -----------------------------------------------------


def copy_archive(user):
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type="copy", reauthenticated=True
    )
    services.dsar_process(request_id=request.pk)
    return request.archives.get()


@pytest.mark.django_db
def test_an_archive_made_with_an_old_key_still_opens_after_rotation(settings, user):
    archive = copy_archive(user)
    settings.EXPORT_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    plaintext = b"".join(export.archive_open_decrypted(archive))
    assert archive.key_id == "2024"
    assert plaintext.startswith(b"PK\x03\x04")


@pytest.mark.django_db
def test_a_tampered_stored_archive_is_refused(user):
    archive = copy_archive(user)
    with default_storage.open(archive.storage_name, "rb") as stored:
        data = bytearray(stored.read())
    data[-20] ^= 0x01
    default_storage.delete(archive.storage_name)
    default_storage.save(archive.storage_name, ContentFile(bytes(data)))
    with pytest.raises(crypto.DecryptionError):
        b"".join(export.archive_open_decrypted(archive))


@pytest.mark.django_db
def test_a_truncated_stored_archive_is_refused(user):
    archive = copy_archive(user)
    with default_storage.open(archive.storage_name, "rb") as stored:
        data = stored.read()
    default_storage.delete(archive.storage_name)
    default_storage.save(archive.storage_name, ContentFile(data[: len(data) // 2]))
    with pytest.raises(crypto.DecryptionError):
        b"".join(export.archive_open_decrypted(archive))
