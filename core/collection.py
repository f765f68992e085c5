"""Whether the portal still collects personal data: a port the end-of-service app fills.

Sign-up, the access log, the login history and giving consent all stop on the announced last
day of the service. Those live in apps below the one that announces the end, so they ask here;
the announcing app registers its answer from its `AppConfig.ready()`. Until one does, the
portal collects.
"""

from __future__ import annotations

from collections.abc import Callable

COLLECTION_STOPPED_MESSAGE = (
    "The service is ending: we no longer collect personal information, so no consent can be "
    "given. You can still withdraw a consent and make requests about your data."
)

_probes: list[Callable[[], bool]] = []


def register_collection_probe(probe: Callable[[], bool]) -> None:
    """Add a callable answering True once collection has stopped (idempotent)."""
    if probe not in _probes:
        _probes.append(probe)


def collection_stopped() -> bool:
    """True once any registered probe says the service stopped collecting."""
    return any(probe() for probe in _probes)
