"""Browser fixtures: headless Chromium (Debian's, never a downloaded one) driven by
Playwright, against a real Salon server on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.chromium import launch_chromium


# One browser for this package's tests, closed when they are done (tests/chromium.py
# says why the scope is the package).
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Browser tests are about the web client, not the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'salon.db'}"
