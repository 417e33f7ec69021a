"""``salon_follow_list``: plugins add entries (people elsewhere) to a user's
followers and following, which the lists show under ``remote`` and the counts count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salon.core.hookspecs import hookimpl
from tests.helpers import start_instance


class Elsewhere:
    @hookimpl
    def salon_follow_list(self, user: Any, relation: str) -> Any:
        if relation != "followers" or user.username != "bob":
            return None

        async def entries() -> list[dict[str, str]]:
            return [
                {
                    "id": "https://far.example/users/zoe",
                    "username": "zoe@far.example",
                    "display_name": "Zoe",
                    "url": "https://far.example/@zoe",
                }
            ]

        return entries()


def test_salon_follow_list(tmp_path: Path, sqlite_url: str) -> None:
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("elsewhere", Elsewhere())])
    try:
        ann, bob = server.signup("ann"), server.signup("bob")
        assert ann.post("/api/users/bob/follow").status_code == 204
        followers = bob.get("/api/users/bob/followers").json()
        assert [u["username"] for u in followers["users"]] == ["ann"]
        assert followers["remote"] == [
            {
                "id": "https://far.example/users/zoe",
                "username": "zoe@far.example",
                "display_name": "Zoe",
                "url": "https://far.example/@zoe",
            }
        ]
        assert bob.get("/api/users/bob/following").json() == {"users": [], "remote": []}
        profile = ann.get("/api/users/bob").json()
        assert (profile["followers_count"], profile["following_count"]) == (2, 0)
    finally:
        server.stop()
