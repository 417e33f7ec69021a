"""Headless Chromium (Debian's) for federation's web parts: one browser for this
package, closed when its tests are done (see tests/chromium.py for why the
scope is the package)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.chromium import launch_chromium


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser
