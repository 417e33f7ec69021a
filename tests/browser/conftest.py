"""Browser fixtures: headless Chromium (Debian's, never a downloaded one) driven by
Playwright, against a real Salon server on SQLite."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

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


# One browser for all the browser tests, closed when they are done: while Playwright's
# sync API is running, the test thread has an event loop marked as running, which would
# break every asyncio test run after these in the same session. So the scope is this
# package (all of the session's browser tests), not the whole session.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(CHROMIUM_MISSING)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Browser tests are about the web client, not the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'salon.db'}"
