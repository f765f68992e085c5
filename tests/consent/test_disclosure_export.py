"""The disclosure log reaches the user's copy of their data: who received it, when, what."""

import csv
import io
import json
import zipfile

import pytest

from consent import services as consent_services
from requests_dsar import export, services
from requests_dsar.models import ExportArchive
from tests.factories import PurposeFactory, ThirdPartyFactory, UserFactory

pytestmark = pytest.mark.django_db

MEMBER = "disclosures/disclosure"


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def shared(user):
    """The user's e-mail address went to a mailing service for the newsletter."""
    return consent_services.disclosure_record(
        user=user,
        third_party=ThirdPartyFactory(name="MailCo"),
        purpose=PurposeFactory(key="newsletter"),
        data_categories=["2 - Contact"],
        description="Weekly newsletter list",
    )


def copy_archive(user, scope=None) -> zipfile.ZipFile:
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type="copy", scope=scope, reauthenticated=True
    )
    services.dsar_process(request_id=request.pk)
    archive = ExportArchive.objects.get(request=request)
    return zipfile.ZipFile(io.BytesIO(b"".join(export.archive_open_decrypted(archive))))


def test_a_copy_of_ones_data_lists_who_received_it_when_and_what(user, shared):
    rows = json.loads(copy_archive(user).read(f"{MEMBER}.json"))
    assert [
        (r["third_party__name"], r["purpose__key"], r["data_categories"], r["description"])
        for r in rows
    ] == [("MailCo", "newsletter", ["2 - Contact"], "Weekly newsletter list")]
    assert rows[0]["occurred_at"] == shared.occurred_at.isoformat()


def test_another_users_disclosures_never_reach_the_archive(user, shared):
    consent_services.disclosure_record(
        user=UserFactory(),
        third_party=ThirdPartyFactory(name="OtherCo"),
        purpose=None,
        data_categories=["7 - Financial"],
    )
    rows = json.loads(copy_archive(user).read(f"{MEMBER}.json"))
    assert [r["third_party__name"] for r in rows] == ["MailCo"]


def test_the_disclosure_log_can_be_asked_for_on_its_own_with_readable_headings(user, shared):
    archive = copy_archive(user, scope={"categories": ["disclosures"]})
    header = next(csv.reader(io.StringIO(archive.read(f"{MEMBER}.csv").decode("utf-8-sig"))))
    assert header[:2] == ["Recipient", "Purpose"]
    assert not any(name.startswith("consents/") for name in archive.namelist())
