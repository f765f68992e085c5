"""A small per-IP rate limit on Django's cache, for the pages open to anyone (no login)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import HttpRequest

from core.request_info import client_ip


def allow(request: HttpRequest, *, scope: str, limit: int, period: int, key: str = "") -> bool:
    """Count one attempt of `scope` from `key` (default: the client's address); False once past
    `limit` in a period.

    A fixed window: simple, and good enough to stop scripted guessing. The key is hashed so the
    cache holds no IP addresses.
    """
    address = key or client_ip(request) or "unknown"
    window = int(time.time() // period)
    digest = hashlib.sha256(f"{scope}:{address}".encode()).hexdigest()[:32]
    key = f"dsar:ratelimit:{digest}:{window}"
    if cache.add(key, 1, timeout=period):
        return limit >= 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        count = 1
    return count <= limit
