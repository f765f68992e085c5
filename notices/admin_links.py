"""Where a broadcast's admin pages link to: the page of what it tells (an incident, a transfer
notice), or its own.

The apps that broadcast (above notices) register, from their `AppConfig.ready()`, a callable
giving the admin page of a broadcast's source, or None when the broadcast is not theirs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

from .models import Broadcast

Owner = Callable[[Broadcast], "str | None"]

_owners: list[Owner] = []


def register_owner(owner: Owner) -> None:
    """Add a callable giving the admin URL of a broadcast's source, or None (idempotent)."""
    if owner not in _owners:
        _owners.append(owner)


def owner_url(broadcast: Broadcast) -> str:
    """The admin page of what a broadcast tells, or the broadcast's own."""
    for owner in _owners:
        url = owner(broadcast)
        if url:
            return url
    return reverse("admin:notices_broadcast_change", args=[broadcast.pk])
