"""A richly populated account and a scan of every table for what is left of it.

Shared by the erasure tests and the worker integration test. Every personal value is a unique
random string, so finding one anywhere after an erasure can only mean residue.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from typing import cast

import pyotp
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.totp.internal.auth import TOTP
from allauth.socialaccount.models import SocialAccount
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import models
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import User
from notices import services as notice_services
from requests_dsar import services
from tests.factories import LoginEventFactory, ProfileFactory, UserFactory

TEXT_FIELDS = (models.CharField, models.TextField, models.GenericIPAddressField, models.JSONField)


@dataclass
class RichAccount:
    user: User
    values: dict[str, str]  # every personal value, by what it is
    api_secret: str
    session_key: str
    client: Client  # signed in, with a tracked session


def _ipv4() -> str:
    return ".".join(str(secrets.randbelow(100) + 100) for _ in range(4))


def _ipv6() -> str:
    return str(ipaddress.IPv6Address(0x2001_0DB8 << 96 | secrets.randbits(96)))


def rich_account() -> RichAccount:
    """A user with data in every registered place a user can have data."""
    tag = secrets.token_hex(6)
    v = {
        "email": f"erase.me.{tag}@example.org",
        "second_email": f"second.{tag}@example.net",
        "name": f"Ada Residue{tag}",
        "nickname": f"nick{tag}",
        "occupation": f"Lighthouse keeper {tag}",
        "signature": f"Signed with care {tag}",
        "bio": f"I grew up near the sea {tag}",
        "ipv4": _ipv4(),
        "ipv6": _ipv6(),
        "session_ip": _ipv4(),
        "user_agent": f"ResidueBrowser/{tag} (X11; Linux x86_64)",
        "social_uid": f"uid{tag}",
        "social_name": f"Social Name{tag}",
        "social_nickname": f"octo{tag}",
        "token_name": f"my laptop {tag}",
        "question": f"Which data do you hold about my cat {tag}?",
        "message": f"Also my dog {tag}, please",
        "notice": f"Your parcel {tag} is waiting",
    }
    user = cast(User, UserFactory(email=v["email"]))
    ProfileFactory(
        user=user,
        name=v["name"],
        nickname=v["nickname"],
        occupation=v["occupation"],
        signature=v["signature"],
        bio=v["bio"],
    )
    for ip in (v["ipv4"], v["ipv6"], v["ipv4"]):
        LoginEventFactory(user=user, ip_address=ip, user_agent=v["user_agent"])
    account_services.access_log_append(
        user_id=user.pk,
        ip_address=v["ipv6"],
        method="GET",
        path="/dashboard/",
        status_code=200,
        user_agent=v["user_agent"],
    )
    _token, api_secret = account_services.api_token_create(
        user=user, name=v["token_name"], lifetime=None
    )
    second = EmailAddress.objects.create(user=user, email=v["second_email"])
    EmailConfirmation.create(second)
    SocialAccount.objects.create(
        user=user,
        provider="github",
        uid=v["social_uid"],
        extra_data={"name": v["social_name"], "login": v["social_nickname"], "id": v["social_uid"]},
    )
    TOTP.activate(user, pyotp.random_base32())
    # A real signed-in request: the session, its tracked UserSession and an access-log row.
    client = Client(REMOTE_ADDR=v["session_ip"], HTTP_USER_AGENT=v["user_agent"])
    client.force_login(user)
    assert client.get(reverse("api:me")).status_code == 200
    # An earlier request with free text and a message.
    question, _created = services.dsar_request_create(
        subject=user, requester=user, type="question", details=v["question"], reauthenticated=True
    )
    services.dsar_message_post(request=question, author=user, body=v["message"], from_staff=False)
    # An inbox message (titles are our wording; this one is unique to find it again) and an
    # e-mail preference.
    notice_services.notify(
        user=user, category="service_notices", title=v["notice"], body="Come and see."
    )
    notice_services.preferences_update(user=user, choices={"policy_changes": False})
    return RichAccount(
        user=user,
        values=v,
        api_secret=api_secret,
        session_key=client.session.session_key or "",
        client=client,
    )


def _columns() -> list[tuple[type[models.Model], list[str]]]:
    found = []
    for model in apps.get_models(include_auto_created=True):
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if names:
            found.append((model, names))
    return found


def find_residue(values: dict[str, str]) -> dict[str, list[str]]:
    """Which of `values` appear in any text-like column of any table (or in a session's
    decoded data): {what: ["app.Model.field", ...]}. Empty means no residue."""
    needles = {what: value.lower() for what, value in values.items()}
    found: dict[str, list[str]] = {}
    for model, names in _columns():
        rows = list(model._base_manager.values_list(*names))
        for index, name in enumerate(names):
            text = "\n".join(str(row[index]) for row in rows).lower()
            for what, needle in needles.items():
                if needle in text:
                    found.setdefault(what, []).append(f"{model._meta.label}.{name}")
    store = SessionStore()
    decoded = "\n".join(str(store.decode(s.session_data)) for s in Session.objects.all()).lower()
    for what, needle in needles.items():
        if needle in decoded:
            found.setdefault(what, []).append("session store (decoded)")
    return found
