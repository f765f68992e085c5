"""Whether a legal hold keeps a person's data or a request's evidence: a port the retention
app fills.

A deletion under a hold waits for a privacy officer however it was filed, and the end of the
service skips held people. Those live in apps below the one that manages holds, so they ask
here; the retention app registers its answer from its `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable

HoldProbe = Callable[..., bool]

_probes: list[HoldProbe] = []


def register_hold_probe(probe: HoldProbe) -> None:
    """Add a callable `probe(user_id=..., request_id=...) -> bool` (idempotent)."""
    if probe not in _probes:
        _probes.append(probe)


def legal_hold_covers(*, user_id: int | None = None, request_id: int | None = None) -> bool:
    """True when an active legal hold names the user or the request."""
    return any(probe(user_id=user_id, request_id=request_id) for probe in _probes)
