"""``salon_room_extras`` and members-only rooms: a plugin adds data to a room wherever it
is shown, and decides who belongs to a members-only room (refusing with its reason)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import websockets

from salon.core.hookspecs import hookimpl
from salon.core.rooms import Room, Visibility
from tests.helpers import start_instance


class Tagger:
    """Tags every room with a badge; admits the users in ``members`` to members-only
    rooms and refuses everyone else with a reason."""

    def __init__(self) -> None:
        self.members: set[int] = set()
        self.seen: list[tuple[int, int | None]] = []

    @hookimpl
    def salon_room_extras(self, room: Room, viewer: Any) -> dict[str, Any]:
        self.seen.append((room.id, viewer.id if viewer else None))
        return {"tag": {"label": f"Tagged {room.id}", "href": "/tags"}}

    @hookimpl
    def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | str | None:
        if action not in ("room.view", "room.join") or actor is None:
            return None
        if resource.visibility is not Visibility.MEMBERS or actor.id == resource.creator_id:
            return None
        return True if actor.id in self.members else "this room is for the tagged crowd"


async def _snapshot(url: str, token: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))


def test_salon_room_extras(tmp_path: Path, sqlite_url: str) -> None:
    plugin = Tagger()
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("tagger", plugin)])
    try:
        ann, bob = server.signup("ann"), server.signup("bob")
        room = ann.open_room("Tagged talk")
        badge = {"label": f"Tagged {room['id']}", "href": "/tags"}
        assert room["extras"] == {"tag": badge}  # the answer to a transition
        assert bob.get(f"/api/rooms/{room['id']}").json()["extras"] == {"tag": badge}
        (card,) = bob.get("/api/hallway").json()["rooms"]
        assert card["extras"] == {"tag": badge}
        assert (room["id"], bob.id) in plugin.seen  # asked with the viewer
        snap = asyncio.run(_snapshot(f"{server.ws_url}/api/rooms/{room['id']}/ws", bob.token))
        assert snap["room"]["extras"] == {"tag": badge}
        with server.client() as anonymous:
            assert f"Tagged {room['id']}" in anonymous.get("/").text  # the hallway card
            page = anonymous.get(f"/rooms/{room['id']}").text
            assert f'<a href="/tags">Tagged {room["id"]}</a>' in page
    finally:
        server.stop()


def test_members_only_room_admits_whom_a_plugin_allows(tmp_path: Path, sqlite_url: str) -> None:
    plugin = Tagger()
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("tagger", plugin)])
    try:
        ann, bob, cat = server.signup("ann"), server.signup("bob"), server.signup("cat")
        plugin.members.add(bob.id)
        room = ann.open_room("Members", visibility="members")
        assert room["visibility"] == "members"
        assert bob.post(f"/api/rooms/{room['id']}/join").status_code == 200
        r = cat.post(f"/api/rooms/{room['id']}/join")
        assert r.status_code == 403
        assert r.json()["error"]["message"] == "this room is for the tagged crowd"
        assert [c["id"] for c in cat.get("/api/hallway").json()["rooms"]] == []
    finally:
        server.stop()


def test_members_only_room_without_a_plugin_admits_nobody_else(
    tmp_path: Path, sqlite_url: str
) -> None:
    server = start_instance(tmp_path, sqlite_url)
    try:
        ann, bob = server.signup("ann"), server.signup("bob")
        room = ann.open_room("Members", visibility="members")
        r = bob.post(f"/api/rooms/{room['id']}/join")
        assert r.status_code == 403
        assert r.json()["error"]["message"] == "this room is for members"
        assert bob.get(f"/api/rooms/{room['id']}").status_code == 403
        assert ann.get(f"/api/rooms/{room['id']}").status_code == 200
    finally:
        server.stop()
