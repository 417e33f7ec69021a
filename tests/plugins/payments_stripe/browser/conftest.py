"""Headless Chromium for the payments plugin's page scripts, in its own package (see
tests/chromium.py for why the browser is package-scoped)."""

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
    """The subject is the page script, not the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'salon.db'}"
