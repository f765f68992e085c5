"""Requests that start unverified and are confirmed with a code e-mailed to the account: filed
through the API, or by someone signed out (locked out of their account).

The signed-out answers never tell whether an account exists. With or without one, the person is
sent to a code page that behaves the same way: where there is no request to verify, a decoy in
the cache stands in, counting wrong codes and expiring exactly as a real code does, and never
verifies.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User

from . import selectors, services, tasks
from .models import DataSubjectRequest

DECOY_KEY = "dsar:public:decoy:{}"


@transaction.atomic
def api_request_submit(
    *, user: User, type: str, details: str, scope: Mapping[str, Any] | None
) -> tuple[DataSubjectRequest, bool]:
    """File a request through the API: it starts unverified and a code goes to the account.

    An API token or a session alone is not a fresh proof of identity (the web form asks for the
    password again), so the e-mailed code confirms it. Returns (request, created) as
    `dsar_request_create` does; a joined duplicate gets no new code.
    """
    request, created = services.dsar_request_create(
        subject=user, requester=user, type=type, details=details, scope=scope
    )
    if created:
        services.dsar_code_issue(request=request)
    return request, created


def _decoy_timeout() -> int:
    return settings.DSAR_CODE_TTL_MINUTES * 60 + 3600


# No request has this id: the tasks queued for a decoy find nothing and send nothing.
NO_REQUEST = 0


def _decoy() -> uuid.UUID:
    """A code page's id where nothing is filed. It queues the very tasks a filed request
    queues (its notice and its code), for no request, so that both answers cost the same
    round trips to the broker and take as long."""
    transaction.on_commit(partial(tasks.notify_requester.delay, NO_REQUEST, "received"))
    transaction.on_commit(partial(tasks.send_verification_code.delay, NO_REQUEST))
    public_id = uuid.uuid4()
    expires_at = timezone.now() + datetime.timedelta(minutes=settings.DSAR_CODE_TTL_MINUTES)
    cache.set(
        DECOY_KEY.format(public_id),
        {"expires_at": expires_at.timestamp(), "attempts": 0},
        timeout=_decoy_timeout(),
    )
    return public_id


@transaction.atomic
def public_request_submit(*, email: str, type: str, details: str) -> uuid.UUID:
    """File a request for the account with this address, if there is one, and e-mail a code.

    Returns the id for the code page: the request's, or a decoy's when there is no account or
    nothing to verify. The caller validates the input first, the same way with or without an
    account, so that a validation error never tells the two cases apart.
    """
    user = selectors.active_user_by_email(email)
    if user is None:
        return _decoy()
    request, created = services.dsar_request_create(
        subject=user,
        requester=None,
        type=type,
        details=details,
        contact_email=email.strip(),
        join_duplicate=False,
    )
    if not created:
        # The same request is already open. Nothing an unknown visitor wrote is added to it,
        # and the answer looks like any other (a fresh decoy), so the form confirms nothing.
        return _decoy()
    services.dsar_code_issue(request=request)
    return request.public_id


def _decoy_check(public_id: uuid.UUID) -> str:
    """What a real code check would answer for a wrong code; the decoy never says "ok"."""
    key = DECOY_KEY.format(public_id)
    decoy = cache.get(key)
    if decoy is None:
        return "expired"
    if decoy["attempts"] >= settings.DSAR_CODE_MAX_ATTEMPTS:
        return "locked"
    if decoy["expires_at"] <= timezone.now().timestamp():
        return "expired"
    decoy["attempts"] += 1
    cache.set(key, decoy, timeout=_decoy_timeout())
    return "locked" if decoy["attempts"] >= settings.DSAR_CODE_MAX_ATTEMPTS else "wrong"


def public_code_check(*, public_id: uuid.UUID, code: str) -> str:
    """Check the code for a request filed signed out: "ok", "wrong", "expired" or "locked"."""
    request = DataSubjectRequest.objects.filter(public_id=public_id).first()
    if request is None:
        return _decoy_check(public_id)
    return services.dsar_code_check(request=request, code=code)
