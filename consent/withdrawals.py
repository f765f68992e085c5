"""Who else must hear of a withdrawn consent: a port the apps above consent fill.

A consent withdrawn outside a request (the consent centre, the API, a guardian, the browser's
GPC signal) must reach the company's other systems serving the purpose too. Telling them is the
work of an app above consent (connectors), which consent never imports: it registers a listener
from its `AppConfig.ready()`, called in the withdrawal's transaction, after its ledger event,
as `listener(user=..., purpose_key=..., actor=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User

Listener = Callable[..., Any]

_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def withdrawn(*, user: User, purpose_key: str, actor: User | None) -> None:
    for listener in _listeners:
        listener(user=user, purpose_key=purpose_key, actor=actor)
