"""Restriction and consent withdrawal: optional processing stops at once.

A restriction sets the profile's flag that stops all optional processing (the consent check
API denies optional purposes while it is set). A withdrawal of consent withdraws, in the
consent ledger, every optional consent the subject has given.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import Profile
from consent import ledger
from consent.models import ConsentEvent, Method, Purpose
from consent.selectors import facts_changed
from consent.services import consent_withdraw

from .models import AppliedCorrection, DataSubjectRequest


def _stop_optional_processing(request: DataSubjectRequest) -> None:
    if request.subject_id is None:
        return
    now = timezone.now()
    profile, _created = Profile.objects.get_or_create(user_id=request.subject_id)
    if profile.optional_processing_stopped_at is None:
        Profile.objects.filter(pk=profile.pk).update(optional_processing_stopped_at=now)
        facts_changed(request.subject_id)
        AppliedCorrection.objects.create(
            request=request,
            field="optional_processing_stopped_at",
            before="",
            after=now.isoformat(),
        )


def fulfil_restriction(request: DataSubjectRequest) -> None:
    _stop_optional_processing(request)


def fulfil_withdraw_consent(request: DataSubjectRequest) -> None:
    """Withdraw every optional consent given, or only the purposes the request names (one the
    portal filed when a consent was withdrawn elsewhere). A purpose the subject decided on again
    after the request was received keeps that later choice: the request never overrides it.
    Idempotent: a redelivered task finds nothing left to withdraw."""
    subject = request.subject
    if subject is None:
        return
    # The subject asked (the request is theirs); another requester's request is carried out by
    # the system on their verified behalf.
    actor = subject if request.requester_id == subject.pk else None
    decided_since = ConsentEvent.objects.filter(
        subject_key=ledger.user_subject_key(subject.pk), created_at__gt=request.received_at
    ).values_list("purpose__key", flat=True)
    purposes = Purpose.objects.filter(is_optional=True).exclude(key__in=list(decided_since))
    named = request.scope.get("purposes")
    if named:
        purposes = purposes.filter(key__in=[str(key) for key in named])
    for purpose in purposes:
        consent_withdraw(user=subject, purpose=purpose, method=Method.REQUEST, actor=actor)
