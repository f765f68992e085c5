"""Requests filed by someone acting for the person they are about: a port the apps that know
those people fill.

A close relative of a deceased user files for them; nothing about it may reach the deceased's
mailbox, and the relative is told at their own confirmed address. The app that handles such
cases sits above requests, so it registers here, from its `AppConfig.ready()`:
- a teller, `teller(request_id=..., event=...) -> bool`: True when it told the representative
  of the request's news (the requester's own notice is then not sent);
- a silencer, `silencer(request) -> bool`: True when the request's subject must not be written
  to at all (the erasure engine's confirmation then goes to nobody but the representative).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Teller = Callable[..., bool]
Silencer = Callable[[Any], bool]

_tellers: list[Teller] = []
_silencers: list[Silencer] = []


def register_representation(*, teller: Teller, silencer: Silencer) -> None:
    """Add an app's way of telling representatives, and of recognising whom not to write to
    (idempotent)."""
    if teller not in _tellers:
        _tellers.append(teller)
    if silencer not in _silencers:
        _silencers.append(silencer)


def tell_representative(*, request_id: int, event: str) -> bool:
    """Tell the request's representative of `event`; False when it has none."""
    return any(teller(request_id=request_id, event=event) for teller in _tellers)


def subject_not_written_to(request: Any) -> bool:
    """Whether the person the request is about must get no e-mail about it."""
    return any(silencer(request) for silencer in _silencers)
