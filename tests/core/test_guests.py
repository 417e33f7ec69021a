"""Guest accounts and room-bound credentials (core/guests.py), as a plugin that admits
people from elsewhere uses them; and the ``salon_follows`` hook for social rooms."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from salon.core.api import endpoint, ok, read_json
from salon.core.events import CLOSE_FORBIDDEN
from salon.core.guests import guest_account, in_scope, issue_guest_session, sign_in_guest
from salon.core.hookspecs import hookimpl
from salon.core.models import AuthToken, User
from salon.core.schemas import EmptyBody
from tests.helpers import LiveServer, assert_error, start_instance


class Doorman:
    """Admits a guest from "elsewhere.test" to a room: what federation does after it
    has checked a join grant. Also knows who follows whom over there."""

    def __init__(self, ttl: float = 3600.0) -> None:
        self.ttl = ttl
        self.follows: set[tuple[str, int]] = set()  # (guest home, local user id)
        self.admit_everyone = False

    @hookimpl
    def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | None:
        """Like a plugin that lets its members into a room (a club's)."""
        return True if self.admit_everyone and action == "room.join" else None

    @hookimpl
    def salon_routes(self) -> list[BaseRoute]:
        doorman = self

        @endpoint(
            "POST",
            "/api/doorman/{room_id}/{name}",
            summary="Admit a guest",
            body=EmptyBody,
            auth=False,
        )
        async def admit(request: Request) -> Response:
            await read_json(request, EmptyBody)
            db = request.app.state.db
            name = request.path_params["name"]
            guest = await guest_account(
                db,
                home=f"https://elsewhere.test/users/{name}",
                handle=f"{name}@elsewhere.test",
                display_name=name.title(),
            )
            room_id = int(request.path_params["room_id"])
            secret, _ = await issue_guest_session(db, guest, room_id, doorman.ttl)
            sign_in_guest(request, secret)
            return ok({"token": secret, "user_id": guest.id, "username": guest.username})

        return [admit]

    @hookimpl
    def salon_follows(self, follower: User, followee_ids: list[int]) -> bool | None:
        return any((follower.home, uid) in self.follows for uid in followee_ids) or None


@pytest.fixture
def doorman() -> Doorman:
    return Doorman()


@pytest.fixture
def instance(tmp_path: Path, database_url: str, doorman: Doorman) -> Callable[..., LiveServer]:
    servers: list[LiveServer] = []

    def start() -> LiveServer:
        server = start_instance(tmp_path, database_url, extra_plugins=[("doorman", doorman)])
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.stop()


def admit(server: LiveServer, room_id: int, name: str = "alice") -> dict[str, Any]:
    with server.client() as c:
        r = c.post(f"/api/doorman/{room_id}/{name}", json={})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_guest_takes_part_in_one_room_and_nothing_else(
    instance: Callable[..., LiveServer],
) -> None:
    server = instance()
    carol = server.signup("carol")
    room = carol.open_room("Open room")["id"]
    other = carol.open_room("Another room")["id"]
    guest = admit(server, room)
    assert guest["username"] == "alice@elsewhere.test"
    with server.client(guest["token"]) as alice:
        assert alice.get("/api/me").json()["username"] == "alice@elsewhere.test"
        assert alice.post(f"/api/rooms/{room}/join", json={}).status_code == 200
        assert alice.post(f"/api/rooms/{room}/hand", json={}).status_code == 200
        assert alice.get(f"/api/rooms/{room}").status_code == 200
        # Outside the room: refused with a reason, whatever the endpoint.
        for method, path, body in [
            ("POST", f"/api/rooms/{other}/join", {}),
            ("GET", f"/api/rooms/{other}", None),
            ("POST", "/api/rooms", {"title": "Mine"}),
            ("PATCH", "/api/me", {"display_name": "Mallory"}),
            ("POST", f"/api/users/{carol.username}/follow", {}),
            ("GET", "/api/tokens", None),
            ("POST", "/api/invites", {}),
            ("GET", "/api/hallway", None),
        ]:
            r = alice.request(method, path, json=body)
            assert_error(r, 403, "guest_scope")
    # The guest's card in the room names where they come from.
    audience = carol.get(f"/api/rooms/{room}").json()["audience"]
    assert [m["user"]["username"] for m in audience] == ["alice@elsewhere.test"]


def test_a_guest_socket_is_refused_in_another_room(instance: Callable[..., LiveServer]) -> None:
    server = instance()
    carol = server.signup("carol")
    room = carol.open_room("Open room")["id"]
    other = carol.open_room("Another room")["id"]
    token = admit(server, room)["token"]
    headers = {"authorization": f"Bearer {token}"}

    async def run() -> None:
        async with websockets.connect(
            f"{server.ws_url}/api/rooms/{room}/ws", additional_headers=headers
        ) as ws:
            snapshot = await asyncio.wait_for(ws.recv(), 5)
            assert '"snapshot"' in snapshot
        async with websockets.connect(
            f"{server.ws_url}/api/rooms/{other}/ws", additional_headers=headers
        ) as ws:
            error = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert error["error"]["code"] == "guest_scope"
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_FORBIDDEN

    asyncio.run(run())


def test_a_guest_browser_session_sees_other_pages_anonymously(
    instance: Callable[..., LiveServer],
) -> None:
    server = instance()
    carol = server.signup("carol")
    room = carol.open_room("Open room")["id"]
    with httpx.Client(base_url=server.url) as browser:
        r = browser.post(f"/api/doorman/{room}/alice", json={})
        assert r.status_code == 200
        page = browser.get(f"/rooms/{room}")
        assert "Guest @alice@elsewhere.test" in page.text
        hallway = browser.get("/")
        assert hallway.status_code == 200 and "Guest @alice" not in hallway.text
        # The guest pass survives that visit: back in the room, still the guest.
        assert "Guest @alice@elsewhere.test" in browser.get(f"/rooms/{room}").text
        browser.headers["x-csrf-token"] = browser.cookies["salon_csrf"]
        assert browser.post("/api/auth/logout", json={}).status_code == 204
        assert "Guest @alice" not in browser.get(f"/rooms/{room}").text


def test_an_expired_guest_credential_is_refused(
    instance: Callable[..., LiveServer], doorman: Doorman
) -> None:
    doorman.ttl = -1  # already over when issued
    server = instance()
    room = server.signup("carol").open_room("Open room")["id"]
    token = admit(server, room)["token"]
    with server.client(token) as alice:
        assert_error(alice.get(f"/api/rooms/{room}"), 401)


def test_guest_accounts_cannot_be_followed_paid_or_sign_in_with_a_password(
    instance: Callable[..., LiveServer],
) -> None:
    server = instance()
    carol = server.signup("carol")
    room = carol.open_room("Open room")["id"]
    admit(server, room)
    with server.client() as c:
        r = c.post("/api/auth/login", json={"username": "alice@elsewhere.test", "password": ""})
        assert r.status_code in (400, 401, 422), r.text
    r = carol.post("/api/users/alice@elsewhere.test/follow")
    assert r.status_code in (403, 404), r.text


def test_removed_guest_stays_out_even_when_a_plugin_admits(
    instance: Callable[..., LiveServer], doorman: Doorman
) -> None:
    doorman.admit_everyone = True
    server = instance()
    carol = server.signup("carol")
    room = carol.open_room("Open room")["id"]
    guest = admit(server, room)
    with server.client(guest["token"]) as alice:
        assert alice.post(f"/api/rooms/{room}/join", json={}).status_code == 200
        r = carol.post(f"/api/rooms/{room}/remove", {"user_id": guest["user_id"]})
        assert r.status_code == 200, r.text
        assert_error(alice.post(f"/api/rooms/{room}/join", json={}), 403)
    again = admit(server, room)  # a new pass for the same person
    assert again["user_id"] == guest["user_id"]
    with server.client(again["token"]) as alice:
        assert_error(alice.post(f"/api/rooms/{room}/join", json={}), 403)
    # The same holds for a local member, and for anyone once the room has ended.
    bob = server.signup("bob")
    assert bob.post(f"/api/rooms/{room}/join").status_code == 200
    assert carol.post(f"/api/rooms/{room}/remove", {"user_id": bob.id}).status_code == 200
    assert_error(bob.post(f"/api/rooms/{room}/join"), 403)
    assert carol.post(f"/api/rooms/{room}/end").status_code == 200
    dave = server.signup("dave")
    assert dave.post(f"/api/rooms/{room}/join").status_code == 403


def test_salon_follows(instance: Callable[..., LiveServer], doorman: Doorman) -> None:
    server = instance()
    carol = server.signup("carol")
    room = carol.open_room("Followers only", visibility="social")["id"]
    guest = admit(server, room)
    with server.client(guest["token"]) as alice:
        error = assert_error(alice.post(f"/api/rooms/{room}/join", json={}), 403)
        assert "followers" in error["message"]
        doorman.follows.add(("https://elsewhere.test/users/alice", carol.id))
        assert alice.post(f"/api/rooms/{room}/join", json={}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "room_id", "allowed"),
    [
        ("GET", "/api/rooms/7", 7, True),
        ("POST", "/api/rooms/7/audio", 7, True),
        ("GET", "/rooms/7", 7, True),
        ("GET", "/api/rooms/70", 7, False),
        ("GET", "/api/rooms/7x", 7, False),
        ("GET", "/rooms/8", 7, False),
        ("GET", "/api/me", 7, True),
        ("PATCH", "/api/me", 7, False),
        ("DELETE", "/api/me", 7, False),
        ("POST", "/api/auth/logout", 7, True),
        ("POST", "/api/rooms", 7, False),
        ("POST", "/api/rooms", None, True),
    ],
)
def test_in_scope(method: str, path: str, room_id: int | None, allowed: bool) -> None:
    credential = AuthToken(user_id=1, token_hash="x", room_id=room_id)
    assert in_scope(credential, method, path) is allowed
