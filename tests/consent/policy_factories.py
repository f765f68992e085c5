"""Policy versions for the policy tests: drafts, and versions published through the service."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from consent.models import PolicyVersion
from consent.policies import policy_publish

TEXT = "## Who we are\n\nWe are a company.\n\n## What we collect\n\nYour e-mail address.\n"


def draft(version: str = "1.0", **fields: Any) -> PolicyVersion:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "text": TEXT,
        "last_updated": today,
        "effective_on": today,
        "summary_of_changes": "",
        "is_material": False,
        **fields,
    }
    return PolicyVersion.objects.create(version=version, **values)


def published(version: str = "1.0", actor: Any = None, **fields: Any) -> PolicyVersion:
    return policy_publish(version=draft(version, **fields), actor=actor)


def first_and_second(*, second_text: str, material: bool = False) -> tuple[PolicyVersion, ...]:
    """Version 1.0 in effect since last month, then 2.0 published today."""
    month_ago = timezone.localdate() - datetime.timedelta(days=30)
    first = published("1.0", last_updated=month_ago, effective_on=month_ago)
    second = published(
        "2.0",
        text=second_text,
        is_material=material,
        summary_of_changes="We added a section about location." if material else "",
    )
    return first, second
