"""Writes with rules about accounts: one function per use case.

Views, the API, admin actions, commands and tasks all call these, so each rule lives once.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import audit_append
from core.request_info import describe_device

from . import ports, signals
from .models import AccessLogEntry, ApiToken, LoginEvent, Profile, User
from .selectors import profile_for

PROFILE_EDITABLE_FIELDS = (
    "name",
    "nickname",
    "occupation",
    "signature",
    "gender",
    "birth_date",
    "region",
    "education",
    "bio",
)
API_TOKEN_PREFIX = "pp_"  # noqa: S105 - a public marker, not a secret


@transaction.atomic
def profile_update(*, user: User, actor: User, data: Mapping[str, Any]) -> Profile:
    """Change, fill or clear profile fields. Validates everything before saving anything."""
    unknown = set(data) - set(PROFILE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in unknown})
    profile = profile_for(user)
    for name, value in data.items():
        setattr(profile, name, value)
    profile.full_clean(exclude=["user"])
    if actor.pk != user.pk and {"birth_date", "region"} & set(data):
        # Someone else's correction that would make this a minor's account (suspended, then
        # erased without a guardian) is refused unless it is theirs to make.
        refusal = ports.age_correction_refusal(
            user=user, actor=actor, birth_date=profile.birth_date, region=profile.region
        )
        if refusal is not None:
            raise ValidationError({"birth_date": refusal.message}, code=refusal.code)
    profile.save(update_fields=[*data.keys(), "updated_at"])
    if {"birth_date", "region"} & set(data):
        # A date of birth or region that shows a minor starts the guardian consent flow.
        ports.age_changed(user=user, actor=actor)
    if actor.pk != user.pk and data:
        # Someone else (staff, a correction request's officer) changed this user's data.
        audit_append(
            action="profile.corrected",
            actor_user_id=actor.pk,
            actor_role="staff",
            target_type="accounts.user",
            target_id=user.pk,
            data={"fields": sorted(data)},
        )
    return profile


def login_method_from(
    records: Iterable[Mapping[str, Any]], *, email_confirmed: bool = False
) -> tuple[str, str]:
    """Turn allauth's authentication records of a session into (method, provider).

    `email_confirmed`: the sign-in happened on confirming the address, in the browser that
    signed up (allauth records no authentication for it)."""
    methods = {r.get("method") for r in records}
    provider = next(
        (r.get("provider", "") for r in records if r.get("method") == "socialaccount"), ""
    )
    if "mfa" in methods:
        return LoginEvent.Method.MFA, provider
    if "socialaccount" in methods:
        return LoginEvent.Method.THIRD_PARTY, provider
    if "code" in methods:
        return LoginEvent.Method.CODE, ""
    if "password" in methods:
        return LoginEvent.Method.PASSWORD, ""
    if email_confirmed:
        return LoginEvent.Method.EMAIL_CONFIRMATION, ""
    return LoginEvent.Method.OTHER, ""


def login_record(
    *, user: User, ip_address: str | None, user_agent: str, method: str, provider: str = ""
) -> LoginEvent:
    device = describe_device(user_agent)
    return LoginEvent.objects.create(
        user=user,
        ip_address=ip_address,
        user_agent=device.user_agent,
        device=device.device,
        browser=device.browser,
        operating_system=device.operating_system,
        method=method,
        provider=provider[:50],
    )


def login_new_device_claim(*, login_event_id: int) -> LoginEvent | None:
    """The sign-in, when it comes from a device/browser the account never used and nobody has
    claimed telling the user of it yet; claimed now (`notified_at`), in the caller's
    transaction, so whoever tells (notices) tells once. None otherwise."""
    event = LoginEvent.objects.select_related("user").filter(pk=login_event_id).first()
    if event is None or event.notified_at is not None:
        return None
    earlier = LoginEvent.objects.filter(user_id=event.user_id, created_at__lt=event.created_at)
    # The same kind of device with the same browser and system families (versions change).
    same_device = earlier.filter(
        device__startswith=event.device.split(" ")[0],
        browser__startswith=event.browser.split(" ")[0],
        operating_system__startswith=event.operating_system.split(" ")[0],
    )
    if not earlier.exists() or same_device.exists():
        return None
    claimed = LoginEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    return event if claimed else None


def access_log_append(
    *,
    user_id: int,
    ip_address: str | None,
    method: str,
    path: str,
    status_code: int,
    user_agent: str,
) -> None:
    AccessLogEntry.objects.create(
        user_id=user_id,
        ip_address=ip_address,
        method=method[:10],
        path=path[:500],
        status_code=status_code,
        user_agent=user_agent[:512],
    )


def hash_token_secret(secret: str) -> str:
    """What is stored of a token's secret (personal API tokens, service tokens): its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    lifetime: datetime.timedelta | None,
    staff_scope: bool = False,
    second_factor_used: bool = False,
) -> tuple[ApiToken, str]:
    """Create a personal API token. Returns the row and the secret, which is never stored.

    A staff-scoped token (the staff API) goes only to a staff member who signed in with a
    second factor (`second_factor_used`, the caller's session), like the admin; it is audited.
    """
    if staff_scope and not (user.is_staff and second_factor_used):
        raise ValidationError(
            {"staff_scope": "A staff token needs a staff account signed in with two-factor."}
        )
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: len(API_TOKEN_PREFIX) + 6],
        key_hash=hash_token_secret(secret),
        expires_at=timezone.now() + lifetime if lifetime else None,
        staff_scope=staff_scope,
    )
    if staff_scope:
        audit_append(
            action="staff.api_token_issued",
            actor_user_id=user.pk,
            actor_role="staff",
            target_type="accounts.apitoken",
            target_id=token.pk,
        )
    return token, secret


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The live token for a presented secret, or None. Records when it was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token_secret(key), user__is_active=True)
        .first()
    )
    if token is None or token.is_expired:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, user: User, token_id: int) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


# What changed, as the e-mail about the revoked tokens names it.
CREDENTIAL_CHANGES = {
    "password_changed": "your password was changed",
    "password_reset": "your password was reset",
    "email_changed": "your e-mail address was changed",
    "mfa_removed": "two-factor authentication was turned off",
}


@transaction.atomic
def credentials_changed(
    *, user: User, change: str, end_other_sessions: bool, keep_session_key: str | None
) -> int:
    """What follows a change of how the person signs in (password, address, second factor):
    every personal API token is revoked, since whoever took the old credential may have made
    one; the other sessions end when the person chose so (the password's always do). When
    tokens went, `api_tokens_revoked` tells the apps above (the inbox tells the person, in the
    same transaction). Returns how many tokens were revoked."""
    reason = CREDENTIAL_CHANGES[change]
    count, _ = ApiToken.objects.filter(user=user).delete()
    if end_other_sessions:
        for session in UserSession.objects.filter(user=user).exclude(
            session_key=keep_session_key or ""
        ):
            session.end()
    if count:
        signals.api_tokens_revoked.send(sender=User, user=user, count=count, reason=reason)
    return count


def user_session_end(*, user: User, session_id: int) -> bool:
    """Sign out one of the user's sessions (another device). False if it is not theirs."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        return False
    session.end()
    return True
