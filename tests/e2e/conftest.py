"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against `live_server`."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

# Playwright's sync API keeps an event loop running in the test thread; Django refuses ORM
# calls from such a thread (the test's own assertions and pytest-django's teardown) unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var"
CSP_MESSAGE = re.compile(r"Content Security Policy", re.IGNORECASE)
_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Note on the item when its setup or call failed, for `page` to take a screenshot."""
    report = yield
    if report.failed:
        item.stash[_failed] = True
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: browser tests may not be skipped: {reason}", pytrace=False)
        pytest.skip(f"BROWSER TESTS NOT RUN: {reason}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def csp_violations() -> list[str]:
    """Console messages about the Content-Security-Policy, collected by `page`."""
    return []


@pytest.fixture
def page(
    browser: Browser, csp_violations: list[str], request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if CSP_MESSAGE.search(message.text):
            csp_violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    yield page
    if request.node.stash.get(_failed, False):
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        with contextlib.suppress(PlaywrightError):  # a dead browser must not hide the failure
            page.screenshot(path=str(SCREENSHOT_DIR / f"e2e-{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def page_without_javascript(browser: Browser) -> Iterator[Page]:
    """A page in a browser with JavaScript switched off (the portal works without it)."""
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()
