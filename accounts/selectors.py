"""Reads about accounts that are more than a filter."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet

from .models import AccessLogEntry, LoginEvent, Profile, User


def profile_for(user: User) -> Profile:
    """The user's profile; users made outside sign-up (createsuperuser) get an empty one."""
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


def mfa_types_for(user: User) -> set[str]:
    return set(Authenticator.objects.filter(user=user).values_list("type", flat=True))


def linked_accounts_for(user: User) -> QuerySet[SocialAccount]:
    return SocialAccount.objects.filter(user=user).order_by("provider", "date_joined")


def login_history_for(user: User) -> QuerySet[LoginEvent]:
    return LoginEvent.objects.filter(user=user).order_by("-created_at")


def access_log_for(user: User) -> QuerySet[AccessLogEntry]:
    return AccessLogEntry.objects.filter(user=user).order_by("-created_at")


def staff_addresses_with(app_label: str, codename: str) -> list[str]:
    """The addresses of active staff holding a permission (directly, through a group, or as
    superusers): who is e-mailed about the work that permission covers."""
    permission = Permission.objects.filter(
        codename=codename, content_type__app_label=app_label
    ).first()
    holders = Q(is_superuser=True)
    if permission is not None:
        # A missing permission must not become `user_permissions=None`: that matches every
        # staff member without a direct permission.
        holders |= Q(user_permissions=permission) | Q(groups__permissions=permission)
    staff = User.objects.filter(is_active=True, is_staff=True).filter(holders)
    return sorted(set(staff.values_list("email", flat=True)))
