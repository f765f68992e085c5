"""Requests the portal files itself go through the same filing and verification as a user's:
the same deadline, its reason in the history, the subject told in the caller's own words."""

from __future__ import annotations

from django.core import mail

from requests_dsar import deadlines, services
from requests_dsar.models import RequestType, Status, VerificationMethod

REASON = "Filed by the portal because the test says so."


def test_a_request_the_portal_files_is_verified_by_the_system_with_the_usual_deadline(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        request = services.dsar_file_for_system(
            subject=user,
            type=RequestType.WITHDRAW_CONSENT,
            scope={"purposes": ["marketing"]},
            reason=REASON,
        )

    assert request.status == Status.PENDING
    assert request.verification_method == VerificationMethod.SYSTEM
    assert request.due_at == deadlines.due_at(request.verified_at, request.jurisdiction)
    assert request.events.filter(to_status=Status.PENDING, reason=REASON).exists()
    assert queued  # the work is queued after commit
    assert not [m for m in mail.outbox if user.email in m.to]  # no "we received" e-mail


def test_a_system_deletion_may_skip_the_cool_off_and_leave_telling_and_queueing_to_its_caller(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        request = services.dsar_file_for_system(
            subject=user,
            type=RequestType.DELETE,
            reason=REASON,
            cool_off=False,
            queue=False,
            notify=False,
        )

    assert (request.status, request.act_after) == (Status.PENDING, None)
    assert not queued


def test_a_system_deletion_waits_its_cool_off_by_default_and_is_not_filed_twice(user):
    first = services.dsar_file_for_system(subject=user, type=RequestType.DELETE, reason=REASON)
    again = services.dsar_file_for_system(subject=user, type=RequestType.DELETE, reason=REASON)

    assert again.pk == first.pk
    assert again.act_after is not None
