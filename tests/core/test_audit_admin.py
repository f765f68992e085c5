"""The audit log in admin, as staff read it: what happened and what it was about, in words."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import DataSubjectRequestFactory, PrivacyOfficerFactory
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db


def test_the_audit_log_names_actions_and_requests_in_words():
    from core.audit import audit_append

    request = DataSubjectRequestFactory(type="copy")
    audit_append(
        action="dsar.created",
        actor_user_id=None,
        actor_role="system",
        target_type="dsar",
        target_id=request.pk,
        data={},
    )
    html = signed_in(PrivacyOfficerFactory()).get(reverse("admin:core_auditlogentry_changelist"))
    page = html.content.decode()
    assert "Request: created" in page
    assert f"Request {request.reference} ({request.get_type_display().lower()})" in page
