"""Helpers for the relatives' tests: real files to upload, the public form, codes from e-mails."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from relatives.models import RelativeCase

FORM = "/privacy/request/deceased/"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64  # a Windows executable's first bytes
CODE = re.compile(r"^\s*(\d{6})\s*$", re.M)
RELATIVE_EMAIL = "sam.relative@example.net"


def use_tmp_media(settings: Any, tmp_path: Any) -> Any:
    """Uploads and archives go to a fresh directory; the test can list what is stored."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    return tmp_path


def stored_files(root: Any) -> list[Any]:
    return [path for path in root.rglob("*") if path.is_file()]


def certificate() -> SimpleUploadedFile:
    return SimpleUploadedFile("certificate.pdf", PDF, content_type="application/pdf")


def proof() -> SimpleUploadedFile:
    return SimpleUploadedFile("family-book.png", PNG, content_type="image/png")


def form_data(deceased_email: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "relative_name": "Sam Relative",
        "relative_email": RELATIVE_EMAIL,
        "relationship": "child",
        "relationship_other": "",
        "deceased_email": deceased_email,
        "asked": "copy",
        "death_certificate": [certificate()],
        "relationship_proof": [proof()],
        "confirm": "on",
    }
    data.update(overrides)
    return data


def submit(client: Client, deceased_email: str, **overrides: Any) -> Any:
    return client.post(FORM, form_data(deceased_email, **overrides))


def code_from_mail() -> str:
    found = CODE.search(str(mail.outbox[-1].body))
    assert found, "no code in the e-mail"
    return found.group(1)


def verify_url(case: RelativeCase) -> str:
    return reverse("dsar_relatives:verify", args=[case.public_id])


def file_case(client: Client, deceased_email: str, capture: Any, **overrides: Any) -> RelativeCase:
    """Fill in the form and confirm the code from the e-mail: the case waits for staff."""
    with capture(execute=True):
        response = submit(client, deceased_email, **overrides)
    assert response.status_code == 302, response.content.decode()[:2000]
    with capture(execute=True):
        confirmed = client.post(response["Location"], {"code": code_from_mail()})
    assert confirmed.status_code == 200
    return RelativeCase.objects.get(public_id=response["Location"].rstrip("/").split("/")[-1])


def open_copy(browser: Client, path: str, capture: Any) -> Any:
    """Download a relative's copy as the relative does: the link's page, a code e-mailed to
    their address (`capture`: django_capture_on_commit_callbacks), the code entered; the
    download's response."""
    with capture(execute=True):
        browser.post(path, {"action": "send"})
    unlocked = browser.post(path, {"action": "code", "code": code_from_mail()})
    assert unlocked.status_code == 302, unlocked.content.decode()
    return browser.get(path)
