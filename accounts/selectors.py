"""Reads about accounts that are more than a filter."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.db.models import QuerySet

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
