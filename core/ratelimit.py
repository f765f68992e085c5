"""A small per-IP rate limit on Django's cache, for the pages open to anyone (no login)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest

from core.request_info import client_ip


def allow(
    request: HttpRequest, *, scope: str, limit: int, period: int, key: str = "", cost: int = 1
) -> bool:
    """Count an attempt of `scope` from `key` (default: the client's address) as `cost` (one, or
    the bytes it stores); False once past `limit` in a period.

    A fixed window: simple, and good enough to stop scripted guessing. The key is hashed so the
    cache holds no IP addresses.
    """
    address = key or client_ip(request) or "unknown"
    window = int(time.time() // period)
    digest = hashlib.sha256(f"{scope}:{address}".encode()).hexdigest()[:32]
    key = f"dsar:ratelimit:{digest}:{window}"
    if cache.add(key, cost, timeout=period):
        return cost <= limit
    try:
        count = cache.incr(key, cost)
    except ValueError:  # expired between add and incr
        cache.set(key, cost, timeout=period)
        count = cost
    return count <= limit
