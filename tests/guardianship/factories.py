"""Factories for minors and guardians (shared with the guardian dashboard's tests).

`MinorAccountFactory` builds a minor waiting for a guardian: a verified account whose profile
holds only a date of birth and region that make them a minor (Germany, 16, by default).
`GuardianshipFactory` builds an invitation to a guardian with an adult account; pass
`status=...` and the timestamps for later stages. `AdultFactory` is a guardian-to-be.
"""

from __future__ import annotations

import datetime
import secrets

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts import jurisdictions
from accounts.models import Profile, User
from guardianship.models import Guardianship, MinorAccount
from tests.factories import UserFactory

MINOR_REGION = "DE"
MINOR_AGE = 14


def years_ago(years: int, *, days: int = 0) -> datetime.date:
    """The date of birth of someone `years` old today (minus `days` more)."""
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - datetime.timedelta(days=days)


class AdultFactory(UserFactory):
    """A verified adult with a date of birth and region: someone who may be a guardian."""

    @factory.post_generation
    def adult_profile(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            Profile.objects.update_or_create(
                user=obj,
                defaults={"birth_date": years_ago(40), "region": kwargs.get("region", "DE")},
            )


class MinorAccountFactory(DjangoModelFactory):
    class Meta:
        model = MinorAccount
        skip_postgeneration_save = True

    class Params:
        birth_date = factory.LazyFunction(lambda: years_ago(MINOR_AGE))

    user = factory.SubFactory(UserFactory)
    status = MinorAccount.Status.AWAITING_GUARDIAN
    reason = MinorAccount.Reason.SIGNUP
    region = MINOR_REGION
    age_threshold = factory.LazyAttribute(lambda o: jurisdictions.age_threshold(o.region))
    adult_on = factory.LazyAttribute(lambda o: jurisdictions.adult_on(o.birth_date, o.region))
    decide_by = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))

    @factory.post_generation
    def minor_profile(obj: MinorAccount, create: bool, extracted: object, **kwargs: object) -> None:
        """Only what reaches the guardian: the date of birth and region."""
        if create:
            birth_date = jurisdictions.birthday(obj.adult_on, -obj.age_threshold)
            Profile.objects.update_or_create(
                user=obj.user, defaults={"birth_date": birth_date, "region": obj.region}
            )


class GuardianshipFactory(DjangoModelFactory):
    """An invitation (status invited) from a waiting minor to an adult guardian."""

    class Meta:
        model = Guardianship

    minor = factory.LazyFunction(lambda: MinorAccountFactory().user)
    guardian = None
    guardian_email = factory.LazyAttribute(
        lambda o: o.guardian.email if o.guardian else f"guardian.{secrets.token_hex(4)}@example.org"
    )
    status = Guardianship.Status.INVITED
    invitation_nonce = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))


# --- Helpers for the flow's tests ------------------------------------------------------------

PASSWORD = "a-long-test-password-42"


def signup_data(**overrides: str) -> dict[str, str]:
    data = {
        "email": "young.person@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "birth_date": years_ago(MINOR_AGE).isoformat(),
        "region": MINOR_REGION,
    }
    data.update(overrides)
    return data


def signed_in(user: User):  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def link_in(message, pattern: str) -> str:  # type: ignore[no-untyped-def]
    """The path of the first link in an e-mail that matches `pattern` (a regex on the path)."""
    import re
    from urllib.parse import urlsplit

    for url in re.findall(r"https?://\S+", str(message.body)):
        path = urlsplit(url).path
        if re.search(pattern, path):
            return path
    raise AssertionError(f"no link matching {pattern!r} in the e-mail")
