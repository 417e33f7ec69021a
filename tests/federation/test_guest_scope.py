"""A remote guest can do nothing on the room's server outside the room they joined
(issue 9, part 3): their credential, as a Bearer token or as the browser session the
join set, answers 403 ``guest_scope`` everywhere else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.helpers import Api, LiveServer, assert_error

from .helpers import Cluster


@pytest.fixture
def joined(cluster: Cluster) -> Iterator[dict[str, Any]]:
    """alice@A in carol's room on B, with her guest token and her browser session."""
    a, b = cluster.start("A"), cluster.start("B")
    alice, carol = a.signup("alice"), b.signup("carol")
    room, other = carol.open_room("Hers"), carol.open_room("Not hers")
    r = alice.post("/api/federation/grants", {"room": f"{b.url}/rooms/{room['id']}"})
    assert r.status_code == 201, r.text
    browser = b.client()
    r = browser.post("/api/federation/join", json={"grant": r.json()["grant"]})
    assert r.status_code == 200, r.text
    browser.headers["x-csrf-token"] = browser.cookies["salon_csrf"]
    token = r.json()["token"]
    with b.client(token) as guest:
        yield {
            "a": a,
            "b": b,
            "carol": carol,
            "room": room["id"],
            "other": other["id"],
            "guest": guest,
            "browser": browser,
            "me": r.json()["user"],
            "token": token,
        }
    browser.close()


def socket_first_message(b: LiveServer, room_id: int, token: str) -> dict[str, Any]:
    url = f"{b.ws_url}/api/rooms/{room_id}/ws"
    with connect(url, additional_headers={"authorization": f"Bearer {token}"}) as ws:
        return json.loads(ws.recv(timeout=5))


def refused_everywhere_else(client: httpx.Client, ctx: dict[str, Any]) -> None:
    other = ctx["other"]
    attempts = [
        client.post("/api/rooms", json={"title": "My own room"}),
        client.patch("/api/me", json={"display_name": "Someone else"}),
        client.post("/api/users/carol/follow", json={}),
        client.post(f"/api/rooms/{other}/join", json={}),
        client.get(f"/api/rooms/{other}"),
        client.get("/api/hallway"),
        client.post("/api/federation/grants", json={"room": "http://c.example/rooms/1"}),
        client.post("/api/federation/guests", json={"handle": "@x@c.example"}),
        client.get("/api/tokens"),
    ]
    for r in attempts:
        assert_error(r, 403, "guest_scope")
    # A guest account has no password: it cannot sign in for a full session.
    r = client.post("/api/auth/token", json={"username": ctx["me"]["username"], "password": ""})
    assert r.status_code in (401, 422), r.text


def test_a_guest_token_works_in_its_room_only(joined: dict[str, Any]) -> None:
    b, guest, room, me = joined["b"], joined["guest"], joined["room"], joined["me"]
    refused_everywhere_else(guest, joined)
    # Another room's socket: refused at the handshake with the reason.
    first = socket_first_message(b, joined["other"], joined["token"])
    assert first["error"]["code"] == "guest_scope"

    # The room's own endpoints work.
    assert guest.get("/api/me").json()["username"] == me["username"]
    assert guest.get(f"/api/rooms/{room}").status_code == 200
    r = guest.post(f"/api/rooms/{room}/join", json={})
    assert r.status_code == 200, r.text
    assert guest.post(f"/api/rooms/{room}/hand", json={}).status_code == 200
    snapshot = socket_first_message(b, room, joined["token"])
    assert snapshot["type"] == "snapshot"
    (member,) = [m for m in snapshot["room"]["audience"] if m["user_id"] == me["id"]]
    assert member["hand_raised"] is True and member["user"]["username"] == me["username"]
    assert guest.post(f"/api/rooms/{room}/leave", json={}).status_code == 200


def test_the_guest_browser_session_is_held_to_the_room_too(joined: dict[str, Any]) -> None:
    browser, room = joined["browser"], joined["room"]
    refused_everywhere_else(browser, joined)
    assert browser.get(f"/rooms/{room}").status_code == 200
    assert browser.post(f"/api/rooms/{room}/join", json={}).status_code == 200
    # Other pages are served as to an anonymous visitor.
    page = browser.get("/settings", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_guest_account_cannot_be_followed_or_act_as_a_local(joined: dict[str, Any]) -> None:
    carol: Api = joined["carol"]
    username = joined["me"]["username"]
    r = carol.post(f"/api/users/{username}/follow")
    assert r.status_code in (403, 404), r.text
    assert "error" in r.json()
