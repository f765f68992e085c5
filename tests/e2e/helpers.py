"""What the browser tests share."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page


def field(page: Page, label: str) -> Locator:
    """The form control labelled exactly `label` (Django may add a colon to it)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}:?\s*$"))
