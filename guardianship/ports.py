"""What the guardianship app plugs into the apps below it, from its `AppConfig.ready()`.

- accounts: a waiting minor links no third-party account; a minor's sign-up and a change of
  date of birth or region enter the guardian consent flow (`accounts.ports`).
- consent: a minor in a guardian's care stays under the rules for minors and, while waiting for
  a guardian, gives nothing optional themselves (`consent.minors`); what the check API reads of
  a minor account is refreshed when it changes.
- requests_dsar: a guardian follows the requests they filed for a minor in their care, and each
  look is audited as a guardian's access (`requests_dsar.followers`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse

from accounts import ports as account_ports
from accounts.models import User
from consent import minors
from consent.selectors import facts_changed
from requests_dsar import followers
from requests_dsar.models import DataSubjectRequest

from . import access, flow, services
from .flow import GUARDIAN_ROLE, WAITING
from .models import MinorAccount

THIRD_PARTY_REFUSED_TO_MINOR = (
    "A third-party account can be linked once your parent or guardian has approved your account."
)


def _link_refusal(user: User) -> account_ports.LinkRefusal | None:
    if MinorAccount.objects.filter(user_id=user.pk, status__in=WAITING).exists():
        return account_ports.LinkRefusal(THIRD_PARTY_REFUSED_TO_MINOR, reverse("minor:waiting"))
    return None


def _minor_signed_up(user: User, birth_date: datetime.date, region: str) -> None:
    flow.minor_account_open(
        user=user,
        birth_date=birth_date,
        region=region,
        reason=MinorAccount.Reason.SIGNUP,
        actor=user,
    )


def _age_changed(user: User, actor: User) -> None:
    flow.minor_status_refresh(user=user, actor=actor)


def _in_care(user: User) -> bool:
    return MinorAccount.objects.filter(user=user).exclude(status=MinorAccount.Status.ENDED).exists()


def _waiting(user: User) -> bool:
    return MinorAccount.objects.filter(user=user, status__in=WAITING).exists()


def _fact_is_minor(status: Any) -> bool:
    return status is not None and status != MinorAccount.Status.ENDED


def _wards(user: User) -> Any:
    return access.guardianships_of(user).values("minor_id")


def _role_of(viewer: User, request: DataSubjectRequest) -> str | None:
    behind = services.guardianship_behind(viewer=viewer, request=request)
    return GUARDIAN_ROLE if behind is not None else None


def _viewed(viewer: User, request: DataSubjectRequest, section: str) -> bool:
    return services.guardian_request_viewed(viewer=viewer, request=request, section=section)


def _listed(viewer: User, requests: Iterable[DataSubjectRequest]) -> None:
    services.guardian_requests_listed(viewer=viewer, requests=requests)


@receiver(post_save, sender=MinorAccount, dispatch_uid="guardianship.minor_facts_saved")
@receiver(post_delete, sender=MinorAccount, dispatch_uid="guardianship.minor_facts_deleted")
def _minor_account_changed(instance: MinorAccount, **kwargs: object) -> None:
    facts_changed(instance.user_id)


account_ports.link_check_register(_link_refusal)
account_ports.minor_signup_register(_minor_signed_up)
account_ports.age_change_register(_age_changed)
account_ports.age_correction_check_register(flow.minor_correction_refusal)
minors.register(
    minors.MinorRule(
        in_care=_in_care,
        waiting=_waiting,
        fact_lookup="minor_account__status",
        fact_is_minor=_fact_is_minor,
    )
)
followers.register(
    followers.Follower(subjects=_wards, role_of=_role_of, viewed=_viewed, listed=_listed)
)
