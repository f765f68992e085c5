"""Uploaded proof documents: only real PDF, JPEG or PNG, size-limited, encrypted at rest."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from core import uploads

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


def test_a_pdf_is_stored_encrypted_and_reads_back():
    stored = uploads.store_encrypted(
        SimpleUploadedFile("certificate.pdf", PDF, content_type="application/pdf"), folder="t"
    )
    assert stored.content_type == "application/pdf"
    with default_storage.open(stored.storage_name, "rb") as raw:
        assert PDF not in raw.read()
    assert b"".join(uploads.open_decrypted(stored.storage_name)) == PDF
    uploads.delete_stored(stored.storage_name)
    assert not default_storage.exists(stored.storage_name)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("setup.pdf", ELF, "wrong_type"),  # a renamed executable
        ("photo.png", b"GIF89a" + b"\x00" * 20, "wrong_type"),
        ("scan.pdf", PNG, "name_mismatch"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_bad_uploads_are_refused_with_a_reason(name, content, code):
    with pytest.raises(ValidationError) as caught:
        uploads.validate_upload(SimpleUploadedFile(name, content, content_type="application/pdf"))
    assert caught.value.code == code


def test_a_file_over_the_limit_is_refused(settings):
    settings.DSAR_UPLOAD_MAX_BYTES = 1024
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, content_type="application/pdf")
    with pytest.raises(ValidationError, match="too large"):
        uploads.validate_upload(big)
