"""Browser fixtures for the clubs pages: one headless Chromium (Debian's) for this
package, and a Salon instance with clubs on, on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.chromium import launch_chromium
from tests.helpers import LiveServer, start_instance

NewPage = Callable[..., Page]


# Package scope: Playwright's sync API marks the thread's event loop as running while
# it is open, which would break asyncio tests run after these.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_instance(
        tmp_path, f"sqlite:///{tmp_path / 'salon.db'}", plugins={"enabled": ["clubs"]}
    )
    yield server
    server.stop()


@pytest.fixture
def new_page(browser: Browser, server: LiveServer) -> Iterator[NewPage]:
    """``new_page()``: a page in a fresh context (one person). Confirmations are
    accepted; a script error on any page fails the test."""
    contexts = []
    errors: list[str] = []

    def make(**options: Any) -> Page:
        options = {"locale": "en-US", "timezone_id": "Europe/Paris", **options}
        context = browser.new_context(base_url=server.url, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"script errors on the page: {errors}"
