"""Reads of legal holds for the apps below: does an active hold name this user or request?"""

from __future__ import annotations

from django.db.models import Q

from .models import LegalHold


def active_hold_on(*, user_id: int | None = None, request_id: int | None = None) -> bool:
    names = Q()
    if request_id is not None:
        names |= Q(request_id=request_id)
    if user_id is not None:
        names |= Q(user_id=user_id)
    if not names:
        return False
    return LegalHold.objects.active().filter(names).exists()
