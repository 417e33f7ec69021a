"""Headless Chromium for the browser tests: Debian's package (never a downloaded
browser), driven by Playwright through ``executable_path``.

Each browser-test package has its own package-scoped ``browser`` fixture built with
:func:`launch_chromium`: while Playwright's sync API runs, the test thread has an event
loop marked as running, which would break asyncio tests run after these in the same
package; a package scope closes it when that package's tests are done.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
CHROMIUM_MISSING = "Chromium not installed: apt-get install chromium (.ci/run does)"


def chromium_path() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@contextmanager
def launch_chromium(extra_args: Iterable[str] = ()) -> Iterator[Browser]:
    """Headless Chromium with Salon's test flags plus EXTRA_ARGS; skips the test when
    Chromium is not installed."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(CHROMIUM_MISSING)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the web client's form; return once the nav shows the account."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=f"@{username}")).to_be_visible()
