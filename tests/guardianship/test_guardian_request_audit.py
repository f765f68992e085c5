"""A guardian following a request they filed for a minor, on the shared requests pages, the
requests API and the archive download, is audited as a guardian's access to the minor's data."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from core.models import AuditLogEntry
from requests_dsar import services
from requests_dsar.downloads import download_url_for
from requests_dsar.models import DataSubjectRequest
from tests.guardianship.dashboard_helpers import make_guardianship, reauthenticated, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def guardianship():
    return make_guardianship()


@pytest.fixture
def copy_for_minor(guardianship, django_capture_on_commit_callbacks):
    """A copy of the minor's data, asked for by their re-authenticated guardian and ready."""
    with django_capture_on_commit_callbacks(execute=True):
        reauthenticated(guardianship.guardian).post(
            reverse("guardian:request_create", args=[guardianship.minor_id, "copy"]),
            {"extent": "all"},
        )
    filed = DataSubjectRequest.objects.get(subject=guardianship.minor)
    if not filed.archives.exists():
        services.dsar_process(request_id=filed.pk)
    filed.refresh_from_db()
    assert (filed.requester, filed.status) == (guardianship.guardian, "completed")
    return filed


def guardian_views(section: str):
    return AuditLogEntry.objects.filter(action="guardian.viewed_minor_data", data__section=section)


def test_a_guardians_copy_for_a_minor_is_downloaded_by_the_guardian_and_audited_as_theirs(
    guardianship, copy_for_minor
):
    archive = copy_for_minor.archives.get()
    response = signed_in(guardianship.guardian).get(download_url_for(archive))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    downloaded = AuditLogEntry.objects.get(action="dsar.archive_downloaded")
    assert (downloaded.actor_user_id, downloaded.actor_role) == (
        guardianship.guardian_id,
        "guardian",
    )
    assert guardian_views("archive").get().target_id == str(guardianship.minor_id)


def test_the_minor_downloading_the_same_copy_is_audited_as_the_requests_subject(
    guardianship, copy_for_minor
):
    archive = copy_for_minor.archives.get()
    response = signed_in(guardianship.minor).get(download_url_for(archive))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    assert AuditLogEntry.objects.get(action="dsar.archive_downloaded").actor_role == "requester"
    assert not guardian_views("archive").exists()


def test_a_guardian_opening_the_minors_request_page_is_audited(guardianship, copy_for_minor):
    page = signed_in(guardianship.guardian).get(
        reverse("dsar:detail", args=[copy_for_minor.public_id])
    )
    assert page.status_code == 200
    entry = guardian_views("request").get()
    assert (entry.actor_user_id, entry.actor_role, entry.target_id) == (
        guardianship.guardian_id,
        "guardian",
        str(guardianship.minor_id),
    )


def test_a_guardian_reading_the_minors_request_through_the_api_is_audited(
    guardianship, copy_for_minor
):
    _row, secret = account_services.api_token_create(
        user=guardianship.guardian, name="t", lifetime=None
    )
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    listed = api.get("/api/v1/requests/")
    detail = api.get(f"/api/v1/requests/{copy_for_minor.public_id}/")
    assert (listed.status_code, detail.status_code) == (200, 200)
    assert guardian_views("requests").count() == 1
    assert guardian_views("request").count() == 1


def test_the_minor_opening_their_own_request_is_no_guardian_access(guardianship, copy_for_minor):
    page = signed_in(guardianship.minor).get(
        reverse("dsar:detail", args=[copy_for_minor.public_id])
    )
    assert page.status_code == 200
    assert not AuditLogEntry.objects.filter(action="guardian.viewed_minor_data").exists()
