"""Reading several cache keys in one round trip, as cheaply as the round trip itself.

Django's Redis backend builds a new redis-py client object for every operation, which costs
about as much CPU as the round trip (redis-py fills a table of some 170 reply handlers each
time). The consent check API reads the cache once per call, thousands of times a second, so
it keeps one client per process and cache backend. Values are read exactly as Django's backend
reads them (same keys, same serializer); any other backend is asked through its `get_many`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: WeakKeyDictionary[RedisCacheClient, Any] = WeakKeyDictionary()


def get_many(keys: Sequence[str]) -> dict[str, Any]:
    """`cache.get_many(keys)`: the values found, missing keys left out."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return backend.get_many(keys)
    redis_cache: RedisCacheClient = backend._cache  # type: ignore[attr-defined]
    client = _clients.get(redis_cache)
    if client is None:
        # A redis-py client is safe to share between threads: each command takes a
        # connection from the backend's pool.
        client = _clients[redis_cache] = redis_cache.get_client(None)
    # The keys are our own (short, plain): made as Django makes them, not checked again.
    values = client.mget([backend.make_key(key) for key in keys])
    loads = redis_cache._serializer.loads  # type: ignore[attr-defined]
    return {key: loads(value) for key, value in zip(keys, values, strict=True) if value is not None}
