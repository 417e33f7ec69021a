"""``salon_profile_changed``: called, awaited, after a profile edit is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salon.core.hookspecs import hookimpl
from tests.helpers import start_instance


class Watcher:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    @hookimpl
    async def salon_profile_changed(self, user: Any) -> None:
        self.seen.append((user.username, user.display_name, user.bio))


def test_salon_profile_changed(tmp_path: Path, sqlite_url: str) -> None:
    watcher = Watcher()
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("watcher", watcher)])
    try:
        ann = server.signup("ann")
        assert ann.patch("/api/me", {"bio": "hello"}).status_code == 200
        assert ann.patch("/api/me", {"display_name": "Ann A"}).status_code == 200
        assert watcher.seen == [("ann", "ann", "hello"), ("ann", "Ann A", "hello")]
        # A refused edit (bad field) changes nothing and calls nothing.
        assert ann.patch("/api/me", {"bio": "x" * 501}).status_code == 422
        assert len(watcher.seen) == 2
    finally:
        server.stop()
