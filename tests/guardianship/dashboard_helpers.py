"""Minors and their guardians built straight from the models, for the guardian's view tests.

(The guardian flow's own factories build them through invitations and approvals; these tests
only need a guardianship in force, or one that has ended.)
"""

from __future__ import annotations

import datetime
import re
import secrets

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile, User
from core.models import AuditLogEntry
from guardianship.models import Guardianship, MinorAccount
from tests.factories import DEFAULT_PASSWORD, ProfileFactory, UserFactory

# India's threshold is the policy's own full age: one age for both rules of who is a minor.
REGION, AGE = "IN", 18


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def make_minor(*, adult_on=None, **profile):
    """A minor whose account a guardian approved: adult in a year unless `adult_on` says."""
    adult_on = adult_on or timezone.localdate() + datetime.timedelta(days=365)
    user = UserFactory()
    profile.setdefault("region", REGION)
    ProfileFactory(user=user, birth_date=years_before(adult_on, AGE), **profile)
    MinorAccount.objects.create(
        user=user,
        status=MinorAccount.Status.ACTIVE,
        reason=MinorAccount.Reason.SIGNUP,
        region=REGION,
        age_threshold=AGE,
        adult_on=adult_on,
        approved_at=timezone.now(),
    )
    return user


def make_guardianship(*, guardian=None, minor=None, **fields):
    """An approved guardianship (pass `status=...` for another) of a new minor by default."""
    guardian = guardian or UserFactory()
    minor = minor or make_minor()
    now = timezone.now()
    values = {
        "status": Guardianship.Status.APPROVED,
        "verification_method": Guardianship.Method.EMAIL_PLUS,
        "invitation_nonce": secrets.token_urlsafe(32),
        "expires_at": now + datetime.timedelta(days=7),
        "accepted_at": now,
        "approved_at": now,
        **fields,
    }
    return Guardianship.objects.create(
        minor=minor, guardian=guardian, guardian_email=guardian.email, **values
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reauthenticated(user: User) -> Client:
    """A signed-in client that has just entered its password again (allauth)."""
    client = signed_in(user)
    response = client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def views_of(guardian: User, minor: User) -> list[str]:
    """The sections of `minor`'s data audited as seen by `guardian`, oldest first."""
    return [
        entry.data["section"]
        for entry in AuditLogEntry.objects.filter(
            action="guardian.viewed_minor_data",
            actor_user_id=guardian.pk,
            target_type="accounts.user",
            target_id=str(minor.pk),
        ).order_by("pk")
    ]


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page's visible text, whitespace collapsed, for asserting on sentences."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def set_profile(user: User, **fields: object) -> None:
    """Fill in fields of the user's existing profile."""
    Profile.objects.filter(user=user).update(**fields)
