"""Reads about requests for the requester's pages and the API: only one's own, never another's."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User

from . import followers
from .models import DataSubjectRequest, ExportArchive


def _acting_for(user: User) -> Q:
    """Requests the user may follow: about them, filed by them about themselves, or filed by
    them for a minor while they are still that minor's guardian (never after revocation or the
    minor's coming of age: `followers`)."""
    acting = Q(subject=user) | Q(requester=user, subject__isnull=True)
    for subjects in followers.subjects_followed(user):
        acting |= Q(requester=user, subject__in=subjects)
    return acting


def requests_for(user: User) -> QuerySet[DataSubjectRequest]:
    """Requests about the user or filed by them (a guardian files for a minor), newest first."""
    return DataSubjectRequest.objects.filter(_acting_for(user)).order_by("-received_at", "-pk")


def may_follow(user: User | None, request: DataSubjectRequest) -> bool:
    """Whether `user` may see `request` and its results (the rule of `requests_for`)."""
    if user is None or not user.is_authenticated:
        return False
    return DataSubjectRequest.objects.filter(_acting_for(user), pk=request.pk).exists()


def request_for(user: User, public_id: uuid.UUID | str) -> DataSubjectRequest | None:
    """One of the user's requests by its public id; None for anyone else's (callers answer 404)."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return requests_for(user).select_related("subject", "requester").filter(public_id=key).first()


def live_archive_for(request: DataSubjectRequest) -> ExportArchive | None:
    """The newest export archive of a request that has not expired or been removed."""
    return (
        request.archives.filter(deleted_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at", "-pk")
        .first()
    )


def active_user_by_email(email: str) -> User | None:
    """The active account with this address, compared case-insensitively."""
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()
