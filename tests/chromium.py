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
