"""Deployment checks for what the consent ledger relies on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning


@register(Tags.caches, deploy=True)
def shared_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckWarning]:
    """The ledger's projections and the check API's cached facts are dropped by moving a
    generation in the cache: every web and worker process must see the same cache, or another
    process answers from what it cached before a withdrawal (`manage.py check --deploy`)."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [
            CheckWarning(
                "The default cache is in-process memory: each web and worker process would keep "
                "its own consent state, and a withdrawal seen by one would not be seen by the "
                "others until their copies expire.",
                hint="Set REDIS_URL (a cache every process shares) in production.",
                id="consent.W001",
            )
        ]
    return []
