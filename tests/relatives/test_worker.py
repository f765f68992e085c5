"""A relative's copy on the real parts: PostgreSQL, Redis, a live Celery worker and SMTP."""

from __future__ import annotations

import io
import re
import secrets
import time
import zipfile

import pytest
from django.test import Client

from relatives import services as relatives
from relatives.models import RelativeCase
from tests.factories import PrivacyOfficerFactory, ProfileFactory, UserFactory
from tests.relatives.factories import FORM, form_data

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CODE = re.compile(r"^\s*(\d{6})\s*$", re.M)
LINK = re.compile(r"https?://\S+(/privacy/request/deceased/copy/\S+/)")


def mail_to(smtp_sink, address, subject_part, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(smtp_sink.messages):
            if message["To"] == address and subject_part in message["Subject"]:
                return message.get_content()
        time.sleep(0.1)
    pytest.fail(f"no e-mail {subject_part!r} within {timeout}s")


def test_the_worker_delivers_the_copy_link_to_the_relative(celery_worker_process, smtp_sink):
    deceased = UserFactory()
    ProfileFactory(user=deceased)
    relative = f"relative.{secrets.token_hex(4)}@example.net"
    client = Client()

    # The form is filed; the worker e-mails the code to the relative, who confirms it.
    filed = client.post(FORM, form_data(deceased.email, relative_email=relative))
    code = CODE.search(mail_to(smtp_sink, relative, "confirmation code"))
    assert code is not None
    assert client.post(filed["Location"], {"code": code.group(1)}).status_code == 200

    # A privacy officer approves; the worker builds the copy and e-mails the link.
    case = RelativeCase.objects.get(relative_email=relative)
    relatives.relative_case_approve(case=case, actor=PrivacyOfficerFactory())
    link = LINK.search(mail_to(smtp_sink, relative, "is ready"))
    assert link is not None
    # The link's page e-mails a code (through the worker); the code opens the copy.
    browser = Client()
    browser.post(link.group(1), {"action": "send"})
    copy_code = CODE.search(mail_to(smtp_sink, relative, "code to open the copy"))
    assert copy_code is not None
    browser.post(link.group(1), {"action": "code", "code": copy_code.group(1)})
    response = browser.get(link.group(1))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "index.html" in archive.namelist()
    assert not [m for m in smtp_sink.messages if m["To"] == deceased.email]

    relatives.documents_delete_files(case.documents.all())
