"""Staff review of relatives' cases: officers decide, agents look, every look is audited, and
proof documents open only through a short-lived link signed for the staff member."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from core.models import AuditLogEntry
from relatives.models import RelativeDocument
from requests_dsar.models import Status
from tests.factories import PrivacyOfficerFactory, ProfileFactory, SupportAgentFactory, UserFactory
from tests.relatives.factories import PNG, file_case, use_tmp_media
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    return use_tmp_media(settings, tmp_path)


@pytest.fixture
def case(client, django_capture_on_commit_callbacks):
    deceased = UserFactory()
    ProfileFactory(user=deceased, after_death=Profile.AfterDeath.RELATIVES_COPY)
    return file_case(client, deceased.email, django_capture_on_commit_callbacks)


def case_url(case):
    return reverse("admin:relatives_relativecase_change", args=[case.pk])


def document_link(client, case, kind="relationship_proof"):
    page = client.get(case_url(case))
    return next(d["url"] for d in page.context["documents"] if d["document"].kind == kind)


def test_the_case_page_shows_the_users_arrangement_and_is_audited(case):
    officer = PrivacyOfficerFactory()
    page = signed_in(officer).get(case_url(case)).content.decode()
    assert "My close relatives may have a copy, then delete" in page
    assert "the account is then deleted" in page
    entry = AuditLogEntry.objects.filter(
        action="admin.viewed_personal_data", target_type="relatives.relativecase"
    ).last()
    assert (entry.actor_user_id, entry.data["user_id"]) == (officer.pk, case.deceased_id)


def test_the_list_holds_only_confirmed_cases_with_their_due_date(client, case):
    from tests.relatives.factories import submit

    submit(client, "someone@example.org")  # never confirmed
    page = signed_in(PrivacyOfficerFactory()).get(
        reverse("admin:relatives_relativecase_changelist")
    )
    assert list(page.context["cl"].result_list) == [case]
    assert "days left" in page.content.decode()


def test_a_support_agent_may_look_but_not_decide(case):
    agent = signed_in(SupportAgentFactory())
    page = agent.get(case_url(case))
    assert page.status_code == 200
    assert page.context["staff_actions"] == []
    approve_url = reverse("admin:relatives_relativecase_decide", args=[case.pk, "approve"])
    assert agent.post(approve_url, {"checked": "on"}).status_code == 403
    case.request.refresh_from_db()
    assert case.request.status == Status.AWAITING_APPROVAL


def test_approval_needs_the_documents_checked(case):
    officer = signed_in(PrivacyOfficerFactory())
    url = reverse("admin:relatives_relativecase_decide", args=[case.pk, "approve"])
    response = officer.post(url, {})
    assert response.status_code == 200
    assert "Check the documents first" in response.content.decode()
    case.request.refresh_from_db()
    assert case.request.status == Status.AWAITING_APPROVAL


def test_opening_a_document_is_audited(case):
    officer = PrivacyOfficerFactory()
    client = signed_in(officer)
    response = client.get(document_link(client, case))
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    entry = AuditLogEntry.objects.get(action="relatives.document_opened")
    assert (entry.actor_user_id, entry.data["relative_case"]) == (officer.pk, case.pk)


def test_a_document_link_works_only_for_the_staff_member_it_was_drawn_for(case):
    first = signed_in(PrivacyOfficerFactory())
    link = document_link(first, case)
    assert signed_in(PrivacyOfficerFactory()).get(link).status_code == 404
    assert not AuditLogEntry.objects.filter(action="relatives.document_opened").exists()


def test_a_document_link_expires_within_minutes(case):
    client = signed_in(PrivacyOfficerFactory())
    link = document_link(client, case)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=11)):
        assert client.get(link).status_code == 410


def test_a_deleted_document_cannot_be_opened(case):
    client = signed_in(PrivacyOfficerFactory())
    link = document_link(client, case)
    RelativeDocument.objects.update(deleted_at=timezone.now())
    assert client.get(link).status_code == 410
