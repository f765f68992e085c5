"""What accounts (and the third-party apps it uses) hold about a user, for export and erasure."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from core.registry import Retention, Strategy, erased_email, fixed, null, register
from core.uploads import delete_stored


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


def _guardianships(user: Any) -> QuerySet:
    from .models import Guardianship

    return Guardianship.objects.filter(Q(minor=user) | Q(guardian=user))


def _guardian_documents(user: Any) -> QuerySet:
    from .models import GuardianDocument

    return GuardianDocument.objects.filter(
        Q(guardianship__minor=user) | Q(guardianship__guardian=user)
    )


def _delete_document_files(documents: QuerySet) -> None:
    for document in documents:
        delete_stored(document.storage_name)


register(
    "accounts.MinorAccount",
    category="guardianship",
    label="Guardian consent",
    user_path="user",
    fields={
        "status": "Status",
        "reason": "Why a guardian was needed",
        "region": "Region",
        "age_threshold": "Age of consent there",
        "adult_on": "Full control from",
        "approved_at": "Approved",
        "ended_at": "Ended",
    },
    strategy=Strategy.DELETE,
    order=60,
)
register(
    "accounts.GuardianDocument",
    category="guardianship",
    label="Guardian consent",
    user_path="guardianship__minor",
    rows=_guardian_documents,
    fields={"uploaded_at": "Document uploaded", "reviewed_at": "Reviewed", "accepted": "Accepted"},
    strategy=Strategy.DELETE,
    before_erase=_delete_document_files,
    order=55,
)
register(
    "accounts.Guardianship",
    category="guardianship",
    label="Guardian consent",
    # Both sides: the minor's guardianship and the guardian's own (as the guardian).
    user_path="minor",
    rows=_guardianships,
    fields={
        "guardian_email": "Guardian's e-mail",
        "status": "Status",
        "verification_method": "How the guardian was verified",
        "invited_at": "Invited",
        "approved_at": "Approved",
        "revoked_at": "Revoked",
        "ended_at": "Ended",
    },
    strategy=Strategy.DELETE,
    order=58,
)
