"""Who may act for whom: a guardian's approved guardianships and nothing else.

Every guardian page and API endpoint finds the minor through `guardianship_for`, which answers
None for anyone who is not, right now, a minor in this guardian's care: another guardian's
minor, an adult, a minor whose guardianship was revoked or ended, a minor who reached the age
(even before the daily sweep has ended the guardianship). Callers answer 404.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from core.models import MAX_ID
from guardianship.models import Guardianship, MinorAccount
from requests_dsar.models import DataSubjectRequest, RequestType

# What a guardian may ask for on a minor's behalf (the issue: "requests filed for them (copy,
# delete)").
GUARDIAN_REQUEST_TYPES = (RequestType.COPY, RequestType.DELETE)


def _in_force() -> Q:
    """Approved, the minor's account approved too, and the minor still under the age today."""
    return Q(
        status=Guardianship.Status.APPROVED,
        minor__is_active=True,
        minor__minor_account__status=MinorAccount.Status.ACTIVE,
        minor__minor_account__adult_on__gt=timezone.localdate(),
    )


def guardianships_of(guardian: User) -> QuerySet[Guardianship]:
    """The guardian's guardianships in force, oldest approval first."""
    return (
        Guardianship.objects.filter(_in_force(), guardian=guardian)
        .select_related("minor", "minor__minor_account", "minor__profile")
        .order_by("approved_at", "pk")
    )


def minors_of(guardian: User) -> list[User]:
    """The minors in the guardian's care now."""
    return [g.minor for g in guardianships_of(guardian)]


def guardianship_for(guardian: User, minor_id: int | str) -> Guardianship | None:
    """The guardianship in force between `guardian` and the user `minor_id`, or None."""
    try:
        key = int(minor_id)
    except (TypeError, ValueError):
        return None
    if not 1 <= key <= MAX_ID or not guardian.is_authenticated:
        return None
    return guardianships_of(guardian).filter(minor_id=key).first()


def is_guardian_of(guardian: User, minor: User) -> bool:
    """Whether `guardian` may act for `minor` now (for the consent ledger's actor rule)."""
    return Guardianship.objects.filter(_in_force(), guardian=guardian, minor=minor).exists()


def has_wards(user: User) -> bool:
    return bool(user.is_authenticated) and guardianships_of(user).exists()


def requests_filed_for(guardianship: Guardianship) -> QuerySet[DataSubjectRequest]:
    """Requests this guardian filed for this minor, newest first."""
    return DataSubjectRequest.objects.filter(
        subject_id=guardianship.minor_id, requester_id=guardianship.guardian_id
    ).order_by("-received_at", "-pk")


def display_name(minor: User) -> str:
    """How the guardian's pages name the minor: their name, nickname, or e-mail address."""
    profile = getattr(minor, "profile", None)
    if profile is not None and (profile.name or profile.nickname):
        return str(profile.name or profile.nickname)
    return minor.email


def guardian_nav(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    """Context processor: `has_wards`, evaluated only when a page asks (the navigation)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"has_wards": lambda: has_wards(user)}
