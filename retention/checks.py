"""Start-up checks of the retention settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from core.retention import rules


@checks.register()
def check_retention_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    """A period in settings for a category no rule knows is a typo: it would never apply."""
    unknown = sorted(set(settings.DSAR_RETENTION_DAYS) - {rule.key for rule in rules()})
    return [
        checks.Warning(
            f"DSAR_RETENTION_DAYS names {key!r}, which is no retention category.",
            hint="Known categories: " + ", ".join(r.key for r in rules()),
            id="retention.W101",
        )
        for key in unknown
    ]
