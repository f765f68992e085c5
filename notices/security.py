"""Security notices about the account itself: a sign-in from a new device, and API tokens revoked
after a change of password, e-mail address or second factor.

Accounts records each sign-in and announces it (`accounts.signals.login_recorded`); telling the
user is the inbox's work. The sign-in is claimed in the same transaction as the message is
created, so a redelivered task never tells twice and a crash before commit leaves it to the
retry; the e-mail goes out after commit, with its own retries. No personal data beyond a link.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.urls import reverse

from accounts.models import LoginEvent, User
from accounts.services import login_new_device_claim
from accounts.signals import api_tokens_revoked, login_recorded

from . import tasks
from .models import Category
from .services import notify


def new_device_notify(*, login_event_id: int) -> bool:
    """Tell the user when a sign-in comes from a device/browser their account never used: a
    site message (account security) and, as their preferences say, an e-mail. Whether told."""
    with transaction.atomic():
        event = login_new_device_claim(login_event_id=login_event_id)
        if event is None:
            return False
        notify(
            user=event.user,
            category=Category.ACCOUNT_SECURITY,
            title=f"New sign-in to your {settings.COMPANY_NAME} account",
            body=(
                "Your account was just signed in to from a device or browser it has not used "
                "before.\n\nIf this was you, there is nothing to do. If it was not, change your "
                "password and sign out your other sessions at once: your login history shows "
                "every sign-in and device."
            ),
            link=reverse("dashboard:history"),
        )
    return True


@receiver(login_recorded)
def _sign_in_recorded(sender: Any, event: LoginEvent, **kwargs: Any) -> None:
    transaction.on_commit(partial(tasks.notify_new_sign_in.delay, event.pk))


@receiver(api_tokens_revoked)
def _api_tokens_revoked(sender: Any, user: User, count: int, reason: str, **kwargs: Any) -> None:
    # In the revocation's transaction: the message and its owed e-mail commit with it.
    tokens = (
        "your personal API token was" if count == 1 else f"your {count} personal API tokens were"
    )
    notify(
        user=user,
        category=Category.ACCOUNT_SECURITY,
        title="Your API tokens were revoked",
        body=(
            f"Because {reason}, {tokens} revoked, so that nobody who may have held the old "
            "sign-in can keep reading your data through them. Scripts that used them stop "
            "working: if you made this change, create new tokens on the Security page.\n\n"
            "If you did not make this change, reset your password at once and contact us."
        ),
        link=reverse("dashboard:security"),
    )
