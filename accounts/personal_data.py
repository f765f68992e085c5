"""What accounts (and the third-party apps it uses) hold about a user: for export and erasure
(the registry) and how long it is kept (the retention table)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, QuerySet

from core import walker
from core.registry import Retention, Strategy, erased_email, fixed, null, register
from core.retention import Action, Target, register_rule

from .models import AccessLogEntry, LoginEvent, User
from .signups import reasons_in_use


def _drop_memberships(users: QuerySet) -> None:
    for user in users:
        user.groups.clear()
        user.user_permissions.clear()


register(
    "accounts.User",
    category="account",
    label="Account",
    user_path="pk",
    fields={
        "email": "E-mail address",
        "date_joined": "Account created",
        "last_login": "Last sign-in",
        "is_active": "Account active",
    },
    strategy=Strategy.ANONYMIZE,
    # The row stays, emptied, so de-identified proofs and retained records keep their key.
    anonymize={
        "email": erased_email(),
        "password": fixed("!erased"),
        "last_login": null(),
        "is_active": fixed(False),
        "is_staff": fixed(False),
        "is_superuser": fixed(False),
    },
    before_erase=_drop_memberships,
    order=1000,
)
register(
    "accounts.Profile",
    category="profile",
    label="Profile",
    user_path="user",
    fields={
        "name": "Name",
        "nickname": "Nickname",
        "occupation": "Occupation / industry",
        "signature": "Personal signature",
        "gender": "Gender",
        "birth_date": "Date of birth",
        "region": "Country / region",
        "education": "Educational background",
        "bio": "About you",
        "optional_processing_stopped_at": "Optional processing stopped",
        "after_death": "After my death",
        "memorialized_at": "Memorialized",
        "updated_at": "Last changed",
    },
    strategy=Strategy.DELETE,
)
register(
    "accounts.LoginEvent",
    category="login_history",
    label="Login and device history",
    user_path="user",
    fields={
        "created_at": "When",
        "method": "How",
        "provider": "Provider",
        "ip_address": "IP address",
        "device": "Device",
        "browser": "Browser",
        "operating_system": "Operating system",
        "user_agent": "User agent",
    },
    strategy=Strategy.DELETE,
)
register(
    "accounts.AccessLogEntry",
    category="access_log",
    label="Activity log",
    user_path="user",
    fields={
        "created_at": "When",
        "method": "Method",
        "path": "Address",
        "status_code": "Result",
        "ip_address": "IP address",
        "user_agent": "User agent",
    },
    strategy=Strategy.DELETE,
)
register(
    "accounts.ApiToken",
    category="api_tokens",
    label="API tokens",
    user_path="user",
    fields={
        "name": "Name",
        "prefix": "Starts with",
        "created_at": "Created",
        "expires_at": "Expires",
        "last_used_at": "Last used",
    },
    strategy=Strategy.DELETE,
)
register(
    "account.EmailAddress",
    category="email_addresses",
    label="E-mail addresses",
    user_path="user",
    fields={"email": "E-mail address", "verified": "Verified", "primary": "Primary"},
    strategy=Strategy.DELETE,
    order=50,
)
register(
    "account.EmailConfirmation",
    category="email_addresses",
    label="E-mail addresses",
    user_path="email_address__user",
    fields={"created": "Confirmation created", "sent": "Confirmation sent"},
    strategy=Strategy.DELETE,
    order=40,
)
register(
    "socialaccount.SocialToken",
    category="linked_accounts",
    label="Linked third-party accounts",
    user_path="account__user",
    fields={"expires_at": "Access token expires"},
    strategy=Strategy.DELETE,
    order=40,
)
register(
    "socialaccount.SocialAccount",
    category="linked_accounts",
    label="Linked third-party accounts",
    user_path="user",
    fields={
        "provider": "Provider",
        "uid": "Account at the provider",
        "date_joined": "Linked",
        "last_login": "Last sign-in",
        "extra_data": "Information the provider handed over",
    },
    strategy=Strategy.DELETE,
    order=50,
)
register(
    "mfa.Authenticator",
    category="two_factor",
    label="Two-factor authentication",
    user_path="user",
    fields={"type": "Kind", "created_at": "Added", "last_used_at": "Last used"},
    strategy=Strategy.DELETE,
)


def _end_sessions(sessions: QuerySet) -> None:
    for session in sessions:
        session.end()  # removes it from the session store, signing that device out


register(
    "usersessions.UserSession",
    category="sessions",
    label="Signed-in sessions",
    user_path="user",
    fields={
        "created_at": "Signed in",
        "last_seen_at": "Last seen",
        "ip": "IP address",
        "user_agent": "User agent",
    },
    strategy=Strategy.DELETE,
    before_erase=_end_sessions,
    order=10,
)
register(
    "admin.LogEntry",
    category="staff_actions",
    label="Actions taken as staff",
    user_path="user",
    fields={"action_time": "When", "object_repr": "Object", "change_message": "Change"},
    strategy=Strategy.RETAIN,
    retention=Retention(
        legal_basis="Accountability for staff access to personal data (Information Security)",
        period=None,
    ),
)


# --- Retention (core.retention): what accounts keeps, and for how long ------------------------


def _access_log(cutoff: datetime.datetime) -> QuerySet[Any]:
    return AccessLogEntry.objects.filter(created_at__lt=cutoff)


def _login_history(cutoff: datetime.datetime) -> QuerySet[Any]:
    return LoginEvent.objects.filter(created_at__lt=cutoff)


def _unconfirmed_signups(cutoff: datetime.datetime) -> QuerySet[Any]:
    """Accounts that signed up and never went further: the primary address never verified,
    never signed in. Staff accounts are not sign-ups to tidy away, and neither is an account
    another app still has a reason for (accounts.signups: requests, guardianships, holds)."""
    this_user = OuterRef("pk")
    rows = (
        User.objects.filter(
            date_joined__lt=cutoff, last_login__isnull=True, is_staff=False, is_superuser=False
        )
        .filter(Exists(EmailAddress.objects.filter(user=this_user, primary=True, verified=False)))
        .exclude(Exists(EmailAddress.objects.filter(user=this_user, verified=True)))
        .exclude(Exists(LoginEvent.objects.filter(user=this_user)))
    )
    for reason in reasons_in_use():
        rows = rows.exclude(reason(this_user))
    return rows


def _registry_deletions(users: list[Any]) -> Iterable[tuple[Any, QuerySet[Any]]]:
    """(registry entry, the users' rows) for every entry the registry deletes: retained rows
    (the consent ledger's pseudonymous events) and the user row itself are not among them."""
    for entry in walker.deleting_entries():
        for rows in walker.rows_of_users(entry, users):
            yield entry, rows


def _before_removing_accounts(users: QuerySet[Any]) -> None:
    # Sessions and stored files go first, outside the transaction.
    for entry, rows in _registry_deletions(list(users)):
        if entry.before_erase is not None:
            entry.before_erase(rows)


def _remove_accounts(users: QuerySet[Any]) -> int:
    """Remove accounts entirely along the registry: every entry it deletes, then the account
    (its e-mail addresses with it). What the registry retains stays."""
    batch = list(users.select_for_update())
    if not batch:
        return 0
    for _entry, rows in _registry_deletions(batch):
        rows.delete()
    _total, per_model = User.objects.filter(pk__in=[u.pk for u in batch]).delete()
    return per_model.get(User._meta.label, 0)


register_rule(
    "access_log",
    label="Activity log",
    removes="Access-log entries (pages visited, IP address, browser) older than the period.",
    default_days=180,
    targets=[Target("accounts.AccessLogEntry", Action.DELETE, _access_log, ("user_id",))],
    order=10,
)
register_rule(
    "login_history",
    label="Login and device history",
    removes="Sign-ins (time, IP address, device, browser) older than the period.",
    default_days=180,
    targets=[Target("accounts.LoginEvent", Action.DELETE, _login_history, ("user_id",))],
    order=20,
)
register_rule(
    "unconfirmed_signups",
    label="Unconfirmed sign-ups",
    removes="Accounts whose address was never verified and that never signed in, entirely "
    "(with their e-mail addresses and everything the registry deletes).",
    default_days=7,
    targets=[
        Target(
            "accounts.User",
            Action.DELETE,
            _unconfirmed_signups,
            held_by_user=("pk",),
            before_remove=_before_removing_accounts,
            remove=_remove_accounts,
            batch_size=100,
        )
    ],
    keeps="What the registry retains: the consent ledger's pseudonymous events.",
    order=50,
)
