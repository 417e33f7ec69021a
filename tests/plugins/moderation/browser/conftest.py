"""Headless Chromium (Debian's) for the moderation plugin's web parts: one browser for
this package, closed when its tests are done (see tests/chromium.py for why the
scope is the package)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.chromium import launch_chromium


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """These tests are about the web client, not the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'salon.db'}"
