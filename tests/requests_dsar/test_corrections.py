"""Corrections and supplements: own fields applied at once, the rest by a privacy officer."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Profile
from core.models import AuditLogEntry
from requests_dsar import corrections, services
from requests_dsar.models import AppliedCorrection, DataSubjectRequest, Status
from tests.factories import PrivacyOfficerFactory, ProfileFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile(user):
    return ProfileFactory(user=user, nickname="old-nick", region="FR", occupation="Baker")


def file_correction(user, changes, type="correct"):
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, scope={"changes": changes}, reauthenticated=True
    )
    return request


def process(request):
    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    return request


# --- Validation when the request is filed ------------------------------------------------------


def test_editable_values_are_cleaned_as_the_profile_form_cleans_them():
    cleaned = corrections.validate_changes(
        [
            {"field": "nickname", "value": "  new-nick  "},
            {"field": "birth_date", "value": "1990-05-17"},
            {"field": "region", "value": "DE"},
        ]
    )
    assert cleaned == [
        {"field": "nickname", "value": "new-nick"},
        {"field": "birth_date", "value": "1990-05-17"},
        {"field": "region", "value": "DE"},
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_date", "2999-01-01"),
        ("birth_date", "not a date"),
        ("region", "XX"),
        ("gender", "unknown"),
        ("nickname", "n" * 51),
    ],
)
def test_an_invalid_value_is_refused_naming_its_field(field, value):
    with pytest.raises(ValidationError) as refused:
        corrections.validate_changes([{"field": field, "value": value}])
    assert list(refused.value.message_dict) == [field]
    label = corrections.field_label(field)
    assert refused.value.message_dict[field][0].startswith(label)


def test_an_invalid_value_refuses_the_whole_request_before_anything_is_stored(user, profile):
    with pytest.raises(ValidationError) as refused:
        file_correction(user, [{"field": "birth_date", "value": "2999-01-01"}])
    assert "birth_date" in refused.value.message_dict
    assert not DataSubjectRequest.objects.filter(subject=user).exists()


@pytest.mark.parametrize(
    "changes",
    [
        None,
        [],
        [{"field": "password", "value": "x"}],
        [{"field": "nickname"}, "nickname"],
        [{"field": "nickname", "value": 5}],
        [{"field": "other", "value": f"item {n}"} for n in range(21)],
    ],
)
def test_malformed_change_lists_are_refused(changes):
    with pytest.raises(ValidationError) as refused:
        corrections.validate_changes(changes)
    assert "changes" in refused.value.message_dict


def test_a_field_listed_twice_is_refused():
    with pytest.raises(ValidationError) as refused:
        corrections.validate_changes(
            [{"field": "nickname", "value": "a"}, {"field": "nickname", "value": "b"}]
        )
    assert "nickname" in refused.value.message_dict


def test_a_staff_only_correction_needs_a_description_of_bounded_length():
    with pytest.raises(ValidationError):
        corrections.validate_changes([{"field": "email", "value": "   "}])
    with pytest.raises(ValidationError):
        corrections.validate_changes([{"field": "other", "value": "x" * 2001}])
    assert corrections.validate_changes([{"field": "login_history", "value": " Not me. "}]) == [
        {"field": "login_history", "value": "Not me."}
    ]


# --- Applying ---------------------------------------------------------------------------------


def test_editable_changes_are_applied_at_once_with_before_and_after(user, profile):
    request = process(
        file_correction(
            user,
            [{"field": "nickname", "value": "new-nick"}, {"field": "occupation", "value": ""}],
        )
    )
    assert request.status == Status.COMPLETED
    profile.refresh_from_db()
    assert (profile.nickname, profile.occupation) == ("new-nick", "")
    applied = {c.field: (c.before, c.after, c.applied_by) for c in request.corrections.all()}
    assert applied == {
        "nickname": ("old-nick", "new-nick", user),
        "occupation": ("Baker", "", user),
    }


def test_a_supplement_fills_in_a_missing_date_of_birth(user):
    Profile.objects.create(user=user)
    request = process(
        file_correction(user, [{"field": "birth_date", "value": "1985-02-28"}], type="supplement")
    )
    assert request.status == Status.COMPLETED
    assert Profile.objects.get(user=user).birth_date == datetime.date(1985, 2, 28)
    assert request.corrections.get().before == ""


def test_a_redelivered_task_does_not_apply_or_record_twice(user, profile):
    request = process(file_correction(user, [{"field": "nickname", "value": "new-nick"}]))
    # The worker died after the work but before the broker heard: the task comes again.
    services.dsar_process(request_id=request.pk)
    corrections.apply_user_editable(request)
    corrections.fulfil_correction(request)
    assert AppliedCorrection.objects.filter(request=request).count() == 1
    assert AuditLogEntry.objects.filter(action="dsar.corrected").count() == 1


def test_a_change_the_user_made_meanwhile_is_not_overwritten_by_a_redelivery(user, profile):
    request = process(file_correction(user, [{"field": "nickname", "value": "new-nick"}]))
    Profile.objects.filter(user=user).update(nickname="edited-later")
    corrections.apply_user_editable(request)
    assert Profile.objects.get(user=user).nickname == "edited-later"


# --- Changes only staff can make ------------------------------------------------------------------


MIXED = [
    {"field": "nickname", "value": "new-nick"},
    {"field": "email", "value": "My address should be new@example.org"},
]


def test_a_mixed_request_applies_the_editable_part_at_once_and_waits_for_an_officer(user, profile):
    request = process(file_correction(user, MIXED))
    assert request.status == Status.AWAITING_APPROVAL
    assert Profile.objects.get(user=user).nickname == "new-nick"
    assert list(request.corrections.values_list("field", flat=True)) == ["nickname"]
    assert [c["field"] for c in corrections.staff_only_changes(request)] == ["email"]


def test_an_officer_records_the_staff_changes_and_the_request_completes(user, profile):
    request = process(file_correction(user, MIXED))
    officer = PrivacyOfficerFactory()
    corrections.correction_approve(
        request=request,
        actor=officer,
        applied={"email": (user.email, "new@example.org")},
    )
    request = process(request)
    assert request.status == Status.COMPLETED
    email = request.corrections.get(field="email")
    assert (email.before, email.after, email.applied_by) == (
        user.email,
        "new@example.org",
        officer,
    )
    assert request.events.filter(reason__startswith="Applied by our privacy team").exists()
    assert request.corrections.count() == 2


def test_approval_without_recording_the_staff_changes_is_refused(user, profile):
    request = process(file_correction(user, MIXED))
    with pytest.raises(ValidationError) as refused:
        corrections.correction_approve(request=request, actor=PrivacyOfficerFactory(), applied={})
    assert "E-mail address" in str(refused.value)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL


def test_an_approval_without_the_hand_applied_changes_recorded_is_refused(user, profile):
    request = process(file_correction(user, MIXED))
    with pytest.raises(ValidationError, match="Record the changes"):
        services.dsar_approve(request=request, actor=PrivacyOfficerFactory())
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL


def test_the_worker_refuses_to_complete_a_correction_missing_its_hand_applied_changes(
    user, profile
):
    request = process(file_correction(user, MIXED))
    # Approved by a path that skipped the service's check (e.g. a raw update).
    services.dsar_transition(request=request, to=Status.PENDING, actor=None)
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        scope={**request.scope, "approved_by": 1}
    )
    with pytest.raises(corrections.StaffCorrectionsMissing):
        services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    assert (request.status, request.failure_message) == (
        Status.FAILED,
        "StaffCorrectionsMissing",
    )


def test_a_denied_mixed_request_keeps_what_was_applied_at_once(user, profile):
    request = process(file_correction(user, MIXED))
    services.dsar_deny(
        request=request, actor=PrivacyOfficerFactory(), reason="other", note="Address is correct."
    )
    assert Profile.objects.get(user=user).nickname == "new-nick"
    assert request.status == Status.DENIED


def test_a_value_the_profile_no_longer_accepts_goes_to_staff_instead_of_failing(user, profile):
    request = file_correction(user, [{"field": "nickname", "value": "new-nick"}])
    # Stored data that no longer validates makes the profile refuse every update.
    future = timezone.localdate() + datetime.timedelta(days=30)
    Profile.objects.filter(user=user).update(birth_date=future)
    request = process(request)
    assert request.status == Status.AWAITING_APPROVAL
    assert [c["field"] for c in corrections.staff_only_changes(request)] == ["nickname"]
    assert not request.corrections.exists()
