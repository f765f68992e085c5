"""How a guardian proves they are one: pluggable methods, configured per jurisdiction.

settings.GUARDIAN_VERIFICATION_METHODS names the method for each region (and a "default"):

- `email_plus`: the guardian's confirmation, then a second confirmation e-mailed after
  GUARDIAN_EMAIL_PLUS_DELAY_HOURS that they must follow. It is the weakest method, so it is for
  internal use only: an approval that rests on it never records consent to a purpose that
  discloses the minor's information to a third party.
- `document`: the guardian uploads a signed consent form or an ID document (encrypted at rest);
  a privacy officer accepts or rejects it in admin; the file is deleted after the review.
- `provider:<name>`: a card-transaction or ID-check provider, a subclass of
  `GuardianVerificationProvider` registered by name (`register_provider`, or a dotted path in
  settings.GUARDIAN_VERIFICATION_PROVIDERS). The portal sends the guardian to `start()`'s URL
  and hands what comes back to `complete()`; only the provider's own reference is stored.

The method is recorded on the Guardianship when the guardian accepts the invitation. Each
method says whether it is satisfied (`is_verified`); the services in `guardianship.py` do the
writes. Nothing here stores a card number or an ID number.
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.jurisdictions import normalize_region
from accounts.models import User
from consent.models import Purpose
from guardianship.models import Guardianship

PROVIDER_PREFIX = "provider:"


class VerificationFailed(Exception):
    """A provider could not verify the guardian. Its message is shown to them: no data in it."""


# --- Providers ------------------------------------------------------------------------------


class GuardianVerificationProvider(abc.ABC):
    """A card-transaction or ID-check service that verifies an adult guardian.

    Subclasses set `name` (the key used in settings) and `label` (what the guardian sees).
    """

    name: ClassVar[str]
    label: ClassVar[str]

    @abc.abstractmethod
    def start(self, *, guardianship: Guardianship, return_url: str) -> str:
        """Begin a check; return the URL to send the guardian to. The provider must send them
        back to `return_url` (which carries a signed state) with its result in the query."""

    @abc.abstractmethod
    def complete(self, *, guardianship: Guardianship, params: Mapping[str, str]) -> str:
        """Check the result the provider sent back (verify its signature, or ask its API).
        Return the provider's own reference for the check; raise VerificationFailed if the
        guardian was not verified."""


_providers: dict[str, type[GuardianVerificationProvider]] = {}


def register_provider(
    cls: type[GuardianVerificationProvider],
) -> type[GuardianVerificationProvider]:
    """Class decorator: make a provider available under its `name`."""
    _providers[cls.name] = cls
    return cls


def get_provider(name: str) -> GuardianVerificationProvider:
    cls = _providers.get(name)
    if cls is None and name in settings.GUARDIAN_VERIFICATION_PROVIDERS:
        cls = import_string(settings.GUARDIAN_VERIFICATION_PROVIDERS[name])
    if cls is None or not issubclass(cls, GuardianVerificationProvider):
        raise ImproperlyConfigured(f"No guardian verification provider is named {name!r}.")
    return cls()


# --- Methods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationMethod:
    """One way of verifying a guardian. `key` is the Guardianship.Method value recorded."""

    key: str
    provider: str = ""  # the provider's name, for `provider`

    @property
    def allows_third_parties(self) -> bool:
        """Whether an approval resting on this method may consent to disclosure to a third
        party. email_plus may not: it is for internal use only."""
        return self.key != Guardianship.Method.EMAIL_PLUS

    @property
    def label(self) -> str:
        if self.key == Guardianship.Method.PROVIDER:
            return get_provider(self.provider).label
        return str(Guardianship.Method(self.key).label)

    def accept_updates(self, now: datetime.datetime) -> dict[str, Any]:
        """The fields the guardian's first confirmation sets, besides the common ones."""
        if self.key == Guardianship.Method.EMAIL_PLUS:
            delay = datetime.timedelta(hours=settings.GUARDIAN_EMAIL_PLUS_DELAY_HOURS)
            return {
                "status": Guardianship.Status.CONFIRMING,
                "first_confirmed_at": now,
                "second_confirmation_after": now + delay,
            }
        if self.key == Guardianship.Method.PROVIDER:
            return {"provider_reference": f"{self.provider}:"}
        return {}

    def is_verified(self, guardianship: Guardianship, now: datetime.datetime | None = None) -> bool:
        """Whether the guardian has done what this method asks, so they may approve.

        For email_plus the second confirmation must also come through its e-mailed link; the
        view checks that link, this only says the delay has passed.
        """
        now = now or timezone.now()
        if self.key == Guardianship.Method.EMAIL_PLUS:
            return (
                guardianship.status == Guardianship.Status.CONFIRMING
                and guardianship.second_confirmation_after is not None
                and guardianship.second_confirmation_after <= now
            )
        if self.key == Guardianship.Method.DOCUMENT:
            latest = guardianship.documents.order_by("-uploaded_at", "-pk").first()
            return (
                guardianship.status == Guardianship.Status.IN_REVIEW
                and latest is not None
                and latest.accepted is True
            )
        return bool(provider_reference(guardianship))


def method_for_region(region: object) -> VerificationMethod:
    """The method configured for `region`, else the default."""
    configured: dict[str, str] = settings.GUARDIAN_VERIFICATION_METHODS
    code = normalize_region(region)
    value = configured.get(code) or configured.get(code.lower()) or configured["default"]
    if value.startswith(PROVIDER_PREFIX):
        return VerificationMethod(Guardianship.Method.PROVIDER, value[len(PROVIDER_PREFIX) :])
    return VerificationMethod(value)


def method_of(guardianship: Guardianship) -> VerificationMethod:
    """The method recorded on a guardianship (set when the guardian accepted)."""
    if guardianship.verification_method == Guardianship.Method.PROVIDER:
        name = guardianship.provider_reference.partition(":")[0]
        return VerificationMethod(Guardianship.Method.PROVIDER, name)
    return VerificationMethod(guardianship.verification_method or Guardianship.Method.EMAIL_PLUS)


def provider_reference(guardianship: Guardianship) -> str:
    """The provider's reference once it verified the guardian ("" before)."""
    if guardianship.verification_method != Guardianship.Method.PROVIDER:
        return ""
    return guardianship.provider_reference.partition(":")[2]


def third_party_consent_allowed(*, minor: User, guardian: User | None) -> bool:
    """Whether `guardian`'s approval of `minor` may consent to disclosure to third parties."""
    if guardian is None:
        return False
    method = (
        Guardianship.objects.filter(
            minor=minor, guardian=guardian, status=Guardianship.Status.APPROVED
        )
        .values_list("verification_method", flat=True)
        .first()
    )
    return method is not None and method != Guardianship.Method.EMAIL_PLUS


def third_party_consent_require(*, minor: User, guardian: User | None, purpose: Purpose) -> None:
    """ValidationError when `purpose` shares information with third parties and `guardian`'s
    approval of `minor` does not allow consenting to that (e-mail alone). Checked by the
    guardian's callers before they give consent: consent is told the guardian's role, it does
    not ask this app."""
    if purpose.third_parties.filter(active=True).exists() and not third_party_consent_allowed(
        minor=minor, guardian=guardian
    ):
        raise ValidationError(
            f"“{purpose.name}” shares information with third parties, which an approval "
            "verified by e-mail alone does not allow.",
            code="verification",
        )
