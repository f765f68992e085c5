"""Signal receivers: record each completed sign-in in the login history, and announce it."""

from __future__ import annotations

from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from core.collection import collection_stopped
from core.request_info import client_ip

from . import services
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
