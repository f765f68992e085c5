"""The inbox's unread count and the incident banner, for every page of a signed-in user.

Lazy: a page that never shows them never queries.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def inbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def counts() -> Any:
        from .services import inbox_counts

        return inbox_counts(user)

    return {"inbox_counts": SimpleLazyObject(counts)}
