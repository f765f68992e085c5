"""Signal receivers: record each completed sign-in in the login history, and announce it; after
a change of password, e-mail address or second factor, revoke the API tokens and end the other
sessions the person chose to end (services.credentials_changed)."""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import (
    email_added,
    email_changed,
    password_changed,
    password_reset,
    user_logged_in,
)
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_removed
from django.dispatch import receiver
from django.http import HttpRequest

from core.collection import collection_stopped
from core.request_info import client_ip

from . import services
from .forms import END_OTHER_SESSIONS
from .models import User
from .signals import login_recorded


@receiver(user_logged_in)
def record_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    if collection_stopped():
        return  # the service is ending: no more sign-in history is collected
    match = request.resolver_match
    method, provider = services.login_method_from(
        get_authentication_records(request, user),
        email_confirmed=match is not None and match.url_name == "account_confirm_email",
    )
    event = services.login_record(
        user=user,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        method=method,
        provider=provider,
    )
    login_recorded.send(sender=User, event=event)


# The choice made on the e-mail page waits in that session for the new address's confirmation.
_EMAIL_CHANGE_CHOICE = "accounts.email_change_ends_sessions"


def _session_key(request: HttpRequest | None) -> str | None:
    session = getattr(request, "session", None)
    return session.session_key if session is not None else None


@receiver(password_changed)
@receiver(password_reset)
def revoke_after_password(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # Django already refuses the other sessions once the password hash changes; ending them
    # here also clears them from the person's list of devices.
    services.credentials_changed(
        user=user,
        change="password_reset" if kwargs["signal"] is password_reset else "password_changed",
        end_other_sessions=True,
        keep_session_key=_session_key(request),
    )


@receiver(email_added)
def remember_email_change_choice(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    if request is not None and request.method == "POST":
        request.session[_EMAIL_CHANGE_CHOICE] = END_OTHER_SESSIONS in request.POST


@receiver(email_changed)
def revoke_after_email_change(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # Confirmed in another browser, the choice is unknown: the safe answer ends the others.
    session = getattr(request, "session", None)
    choice = session.pop(_EMAIL_CHANGE_CHOICE, True) if session is not None else True
    services.credentials_changed(
        user=user,
        change="email_changed",
        end_other_sessions=bool(choice),
        keep_session_key=_session_key(request),
    )


@receiver(authenticator_removed)
def revoke_after_mfa_removed(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        return  # removed with the app it backed up: that removal already answered
    services.credentials_changed(
        user=user,
        change="mfa_removed",
        end_other_sessions=request is not None and END_OTHER_SESSIONS in request.POST,
        keep_session_key=_session_key(request),
    )
