"""A relative's proof documents are deleted a set period after the case closes (the retention
sweep), never while it is open or under a legal hold; unconfirmed cases go after a day."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from core.models import AuditLogEntry
from relatives import services as relatives
from relatives.models import RelativeCase, RelativeDocument
from retention.models import LegalHold
from retention.sweep import retention_sweep
from tests.factories import PrivacyOfficerFactory, UserFactory
from tests.relatives.factories import file_case, stored_files, submit, use_tmp_media

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def officer():
    return PrivacyOfficerFactory()


@pytest.fixture
def closed_case(client, officer, django_capture_on_commit_callbacks):
    """A case denied today, its two documents still stored."""
    case = file_case(client, UserFactory().email, django_capture_on_commit_callbacks)
    relatives.relative_case_deny(case=case, actor=officer, reason="insufficient_verification")
    return case


def sweep_at(days_from_now: float) -> None:
    with time_machine.travel(timezone.now() + datetime.timedelta(days=days_from_now)):
        retention_sweep()


def test_documents_stay_until_the_retention_period_after_closing(closed_case, media, settings):
    settings.DSAR_RETENTION_DAYS = {**settings.DSAR_RETENTION_DAYS, "relative_documents": 30}
    sweep_at(29)
    assert len(stored_files(media)) == 2
    assert not RelativeDocument.objects.filter(deleted_at__isnull=False).exists()


def test_documents_are_deleted_and_marked_after_close_plus_retention(closed_case, media, settings):
    settings.DSAR_RETENTION_DAYS = {**settings.DSAR_RETENTION_DAYS, "relative_documents": 30}
    sweep_at(31)
    assert stored_files(media) == []
    assert all(d.deleted_at is not None for d in RelativeDocument.objects.all())
    assert RelativeCase.objects.filter(pk=closed_case.pk).exists()  # the record of who acted
    assert AuditLogEntry.objects.filter(action="relatives.documents_deleted").exists()


def test_the_period_comes_from_the_setting(settings):
    assert settings.DSAR_RETENTION_DAYS["relative_documents"] == (
        settings.DSAR_RELATIVE_DOCUMENTS_RETENTION_DAYS
    )


def test_an_open_cases_documents_are_kept_however_old(
    client, media, settings, django_capture_on_commit_callbacks
):
    file_case(client, UserFactory().email, django_capture_on_commit_callbacks)
    sweep_at(365)
    assert len(stored_files(media)) == 2


def test_a_legal_hold_on_the_request_keeps_the_documents(closed_case, media, officer):
    LegalHold.objects.create(request=closed_case.request, reason="A court asked.", set_by=officer)
    sweep_at(400)
    assert len(stored_files(media)) == 2


def test_an_unconfirmed_case_is_removed_with_its_documents_after_a_day(client, media):
    submit(client, "nobody@example.org")
    sweep_at(0.5)
    assert RelativeCase.objects.exists()
    sweep_at(2)
    assert not RelativeCase.objects.exists()
    assert stored_files(media) == []
