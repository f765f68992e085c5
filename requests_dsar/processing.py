"""Restriction and consent withdrawal: optional processing stops at once.

Until the consent ledger lands (consent issue), both stop what accounts store as optional
processing: the profile's flag that profiling, personalized content and marketing read.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Profile

from .models import AppliedCorrection, DataSubjectRequest


def _stop_optional_processing(request: DataSubjectRequest) -> None:
    if request.subject_id is None:
        return
    now = timezone.now()
    profile, _created = Profile.objects.get_or_create(user_id=request.subject_id)
    if profile.optional_processing_stopped_at is None:
        Profile.objects.filter(pk=profile.pk).update(optional_processing_stopped_at=now)
        AppliedCorrection.objects.create(
            request=request,
            field="optional_processing_stopped_at",
            before="",
            after=now.isoformat(),
        )


def fulfil_restriction(request: DataSubjectRequest) -> None:
    _stop_optional_processing(request)


def fulfil_withdraw_consent(request: DataSubjectRequest) -> None:
    _stop_optional_processing(request)
