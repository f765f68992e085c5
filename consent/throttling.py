"""The consent check API's rate limit: a protection that costs a cache round trip only now and then.

DRF's `SimpleRateThrottle` reads and rewrites the whole list of request times on every call
(one entry per request of the last minute, so its cost grows with the rate it allows) and two
workers writing at once lose each other's entries. Here each window of the rate has one
counter in the shared cache, and the limit is checked against a sliding estimate (this
window's count plus the previous one's, weighted by how much of it still overlaps the last
`duration` seconds).

Each process adds its own requests to the shared counter in small batches: at most 1% of the
rate (capped at MAX_BATCH) or BATCH_SECONDS apart, and at every request once the count nears
the limit. So the limit holds exactly for small rates (a batch of one) and may be overshot by
at most one batch per process for large ones, which is what a protection needs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from .models import ServiceToken

MAX_BATCH = 100
BATCH_SECONDS = 1.0
# Windows kept in memory per process before old ones are dropped.
MAX_TRACKED = 1000
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """A rate as DRF writes it ("6000/min") as (requests, seconds)."""
    num, period = rate.split("/")
    return int(num), PERIODS[period[0]]


@dataclass
class _Window:
    """What this process knows of one client's current window."""

    index: int  # time // duration
    shared: int = 0  # the shared counter when last read (this process's batches included)
    previous: int | None = None  # the previous window's count, read once
    pending: int = 0  # requests allowed here, not yet added to the shared counter
    flushed_at: float = 0.0  # time.monotonic() of the last write


_windows: dict[str, _Window] = {}
_lock = threading.Lock()


def reset() -> None:
    """Forget this process's batches (tests)."""
    with _lock:
        _windows.clear()


def _counter_key(ident: str, index: int) -> str:
    return f"consent:throttle:{ident}:{index}"


def _add_to_shared(ident: str, window: _Window, duration: int) -> None:
    """Add the pending requests to the shared counter and read it back (and, once, the
    previous window's count)."""
    key = _counter_key(ident, window.index)
    count = window.pending
    try:
        window.shared = cache.incr(key, count) if count else int(cache.get(key, 0))
    except ValueError:  # the window's first write, or the counter was evicted
        if cache.add(key, count, 2 * duration + 1):
            window.shared = count
        else:
            window.shared = cache.incr(key, count)
    if window.previous is None:
        window.previous = int(cache.get(_counter_key(ident, window.index - 1), 0))
    window.pending = 0
    window.flushed_at = time.monotonic()


class ServiceTokenThrottle(BaseThrottle):
    """Per service token (API_THROTTLE_CONSENT_CHECK), per address before authentication."""

    scope = "consent_check"

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def ident(self, request: Request) -> str:
        token = request.auth
        if isinstance(token, ServiceToken):
            return f"{self.scope}:token-{token.pk}"
        return f"{self.scope}:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not isinstance(rate, str):
            return True  # no rate: not limited
        limit, duration = parse_rate(rate)
        batch = max(1, min(MAX_BATCH, limit // 100))
        ident = self.ident(request)
        now = time.time()
        index = int(now // duration)
        overlap = 1.0 - (now % duration) / duration
        with _lock:
            window = _windows.get(ident)
            if window is None or window.index != index:
                if window is not None and window.pending and window.index == index - 1:
                    _add_to_shared(ident, window, duration)  # the last window's tail
                if len(_windows) >= MAX_TRACKED:
                    _windows.clear()
                window = _windows[ident] = _Window(index=index)
                _add_to_shared(ident, window, duration)
            previous = window.previous or 0
            estimate = previous * overlap + window.shared + window.pending
            if estimate + 1 > limit:
                # Other processes only ever add to the count, so looking again cannot turn a
                # refusal into a yes, unless the counter was lost (evicted): look now and then.
                if time.monotonic() - window.flushed_at >= BATCH_SECONDS:
                    _add_to_shared(ident, window, duration)
                    estimate = previous * overlap + window.shared
                if estimate + 1 > limit:
                    self.retry_after = duration - now % duration
                    return False
            window.pending += 1
            if (
                window.pending >= batch
                or estimate + batch >= limit
                or time.monotonic() - window.flushed_at >= BATCH_SECONDS
            ):
                _add_to_shared(ident, window, duration)
        return True

    def wait(self) -> float | None:
        return self.retry_after
