"""Archives reach their owner only: signed, expiring links for the web, one-time tokens for
transfers. Every download and every refusal is audited."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.test import Client

from core.models import AuditLogEntry
from requests_dsar import export, services
from requests_dsar.downloads import download_url_for
from requests_dsar.models import ExportArchive
from tests.factories import LoginEventFactory, UserFactory

pytestmark = pytest.mark.django_db
PULL_URL = "/api/v1/transfers/pull/"


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def fulfil(user, type="copy") -> ExportArchive:
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, reauthenticated=True
    )
    services.dsar_process(request_id=request.pk)
    return request.archives.get()


@pytest.fixture
def archive(user) -> ExportArchive:
    LoginEventFactory.create_batch(2, user=user)
    return fulfil(user)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def refusal_reasons() -> list[str]:
    entries = AuditLogEntry.objects.filter(action="dsar.archive_download_refused")
    return [entry.data["reason"] for entry in entries]


# --- Web downloads --------------------------------------------------------------------------------


def test_the_owner_downloads_the_decrypted_archive(user_client, archive):
    response = user_client.get(download_url_for(archive))
    content = body(response)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert hashlib.sha256(content).hexdigest() == archive.sha256


def test_the_download_is_an_attachment_no_cache_keeps(user_client, archive):
    response = user_client.get(download_url_for(archive))
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert response["Content-Disposition"].endswith('.zip"')
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_a_download_is_counted_and_audited(user_client, user, archive):
    body(user_client.get(download_url_for(archive)))
    archive.refresh_from_db()
    entry = AuditLogEntry.objects.get(action="dsar.archive_downloaded")
    assert archive.download_count == 1
    assert (entry.actor_user_id, entry.target_id) == (user.pk, str(archive.pk))


def test_another_user_gets_404_and_the_attempt_is_audited(archive):
    stranger = Client()
    stranger.force_login(UserFactory())
    response = stranger.get(download_url_for(archive))
    assert response.status_code == 404
    assert refusal_reasons() == ["not_owner"]


def test_an_anonymous_visitor_is_sent_to_sign_in_and_the_attempt_is_audited(client, archive):
    url = download_url_for(archive)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert refusal_reasons() == ["anonymous"]


def test_a_tampered_link_is_404_and_audited(user_client, archive):
    url = download_url_for(archive)
    response = user_client.get(url.replace("/exports/", "/exports/x"))
    assert response.status_code == 404
    assert refusal_reasons() == ["tampered"]


def test_a_link_cannot_be_pointed_at_another_archive(user_client, user, archive):
    fulfil(user, type="access")  # another archive of the same owner
    payload, *signature = download_url_for(archive).rstrip("/").rsplit("/", 1)[1].split(":")
    content = json.loads(signing.b64_decode(payload.encode()))
    content["a"] += 1
    forged = signing.b64_encode(json.dumps(content, separators=(",", ":")).encode()).decode()
    response = user_client.get(f"/files/exports/{':'.join([forged, *signature])}/")
    assert response.status_code == 404
    assert refusal_reasons() == ["tampered"]


def test_an_expired_link_is_410_and_audited(user_client, archive):
    url = download_url_for(archive, lifetime=datetime.timedelta(hours=1))
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=2)):
        response = user_client.get(url)
    assert response.status_code == 410
    assert refusal_reasons() == ["link_expired"]


def test_a_link_lives_as_long_as_its_archive_by_default(user_client, archive):
    url = download_url_for(archive)
    with time_machine.travel(archive.expires_at - datetime.timedelta(minutes=5)):
        assert user_client.get(url).status_code == 200
    with time_machine.travel(archive.expires_at + datetime.timedelta(minutes=5)):
        assert user_client.get(url).status_code == 410


def test_a_deleted_archive_is_410_and_audited(user_client, archive):
    url = download_url_for(archive)
    export.archive_delete_file(archive)
    response = user_client.get(url)
    assert response.status_code == 410
    assert refusal_reasons() == ["archive_deleted"]


def test_a_download_link_accepts_no_post(user_client, archive):
    assert user_client.post(download_url_for(archive)).status_code == 405


def test_download_audit_entries_carry_no_personal_data(user_client, user, archive):
    body(user_client.get(download_url_for(archive)))
    Client().get(download_url_for(archive))
    for entry in AuditLogEntry.objects.filter(action__startswith="dsar.archive_download"):
        assert user.email not in str(entry.data)


# --- Transfer pulls (API) -------------------------------------------------------------------------


@pytest.fixture
def transfer_token(user) -> str:
    archive = fulfil(user, type="transfer")
    return export.transfer_token_issue(archive=archive, actor=user)


def pull(token: str | None, **headers: str):
    if token is not None:
        headers["Authorization"] = f"Transfer {token}"
    return Client().get(PULL_URL, headers=headers)


def test_a_transfer_token_pulls_the_archive_as_a_zip(transfer_token):
    response = pull(transfer_token, User_Agent="ReceivingService/2.1 (+https://example.net)")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert body(response).startswith(b"PK\x03\x04")
    assert ExportArchive.objects.get().pulled_by == "ReceivingService"


def test_a_second_pull_with_the_same_token_is_410(transfer_token):
    body(pull(transfer_token))
    assert pull(transfer_token).status_code == 410


def test_an_expired_transfer_token_is_410(transfer_token):
    later = ExportArchive.objects.get().expires_at + datetime.timedelta(minutes=1)
    with time_machine.travel(later):
        assert pull(transfer_token).status_code == 410


def test_an_unknown_transfer_token_is_404(transfer_token):
    assert pull("ppt_not-the-token").status_code == 404


def test_a_pull_without_the_transfer_header_is_401(transfer_token):
    response = pull(None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Transfer"


def test_a_token_in_the_address_is_not_accepted(transfer_token):
    response = Client().get(PULL_URL, {"token": transfer_token})
    assert response.status_code == 401
    assert ExportArchive.objects.get().pulled_at is None


def test_pull_attempts_are_throttled(settings, transfer_token):
    cache.clear()
    statuses = [pull("ppt_guess").status_code for _ in range(11)]
    assert statuses[-1] == 429
    assert AuditLogEntry.objects.filter(action="dsar.transfer_pull_refused").count() == 10
