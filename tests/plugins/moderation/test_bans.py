"""Suspensions (instance bans): every effect, over HTTP and over the room socket."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
from websockets.sync.client import connect as ws_connect

from tests.helpers import PASSWORD, Api, LiveServer, assert_error, wait_for

from .conftest import People
from .sockets import open_socket, wait_closed


def suspend(mod: Api, who: Api, **extra: object) -> dict:
    r = mod.post(
        "/api/moderation/suspensions", {"username": who.username, "reason": "spam", **extra}
    )
    assert r.status_code == 201, r.text
    return r.json()


def login(server: LiveServer, username: str) -> httpx.Response:
    with server.client() as fresh:
        return fresh.post("/api/auth/login", json={"username": username, "password": PASSWORD})


def test_a_ban_refuses_logins_tokens_and_sessions_until_lifted(
    mserver: LiveServer, people: People
) -> None:
    mod, eve = people.moderator(), people("eve")
    browser = mserver.client()
    assert login(mserver, eve.username).status_code == 200
    r = browser.post("/api/auth/login", json={"username": eve.username, "password": PASSWORD})
    assert r.status_code == 200
    assert browser.get("/api/me").status_code == 200

    made = suspend(mod, eve)
    assert made["user"]["username"] == eve.username and made["expires_at"] is None
    assert_error(login(mserver, eve.username), 403, code="sign_in_refused")  # logins
    assert_error(eve.get("/api/me"), 401, code="sign_in_refused")  # API tokens
    assert_error(browser.get("/api/me"), 401)  # the browser session no longer counts
    listed = mod.get("/api/moderation/suspensions").json()["suspensions"]
    assert eve.username in {s["user"]["username"] for s in listed}

    r = mod.post(f"/api/moderation/suspensions/{eve.username}/lift", {"reason": "appeal"})
    assert r.status_code == 204, r.text
    assert eve.get("/api/me").status_code == 200
    assert login(mserver, eve.username).status_code == 200
    assert_error(
        mod.post(f"/api/moderation/suspensions/{eve.username}/lift", {}), 404, field="username"
    )
    browser.close()


def test_a_ban_with_an_expiry_ends_by_itself(mserver: LiveServer, people: People) -> None:
    mod, eve = people.moderator(), people("eve")
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    made = suspend(mod, eve, expires_at=until.isoformat())
    assert datetime.fromisoformat(made["expires_at"]) == until
    assert_error(eve.get("/api/me"), 401, code="sign_in_refused")
    wait_for(lambda: eve.get("/api/me").status_code == 200, timeout=5, interval=0.1)
    assert datetime.now(UTC) >= until


def test_a_ban_takes_the_user_out_of_every_room_and_ends_their_rooms(
    mserver: LiveServer, people: People
) -> None:
    mod, eve, host, other = people.moderator(), people("eve"), people("host"), people("other")
    listening = host.open_room("Listening")["id"]
    speaking = other.open_room("Speaking")["id"]
    own = eve.open_room("Eve's own")["id"]
    scheduled = eve.post(
        "/api/rooms",
        {"title": "Later", "scheduled_for": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    ).json()["id"]
    watching = people("w").open_room("Just watching")["id"]
    upcoming = host.post(
        "/api/rooms",
        {"title": "Soon", "scheduled_for": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
    ).json()["id"]
    assert eve.post(f"/api/rooms/{listening}/join").status_code == 200
    assert eve.post(f"/api/rooms/{speaking}/join").status_code == 200
    assert other.post(f"/api/rooms/{speaking}/invite-to-speak", {"user_id": eve.id}).is_success
    assert eve.post(f"/api/rooms/{speaking}/invitation/accept").status_code == 200
    assert host.post(f"/api/rooms/{own}/join").status_code == 200

    with (
        open_socket(mserver, listening, eve) as in_listening,
        open_socket(mserver, speaking, eve) as in_speaking,
        open_socket(mserver, watching, eve) as in_watching,
        open_socket(mserver, upcoming, eve) as in_upcoming,
        open_socket(mserver, own, host) as guest_in_own,
        open_socket(mserver, listening, host) as host_socket,
    ):
        started = time.monotonic()
        made = suspend(mod, eve, duration_hours=24)
        # Each of eve's sockets is closed within a second of the ban being asked for.
        for ws in (in_listening, in_speaking, in_watching, in_upcoming):
            code, _ = wait_closed(ws, timeout=1.0 - (time.monotonic() - started))
            assert code == 4003
        assert time.monotonic() - started < 1.0
        # Her own room ended for everyone in it.
        code, seen = wait_closed(guest_in_own, timeout=2)
        assert code == 4001 and seen[-1]["kind"] == "ended"
        # The others in the rooms she was in saw her removed.
        event = host_socket.recv(timeout=2)
        assert '"member_removed"' in event and f'"user_id":{eve.id}' in event

    assert sorted(made["removed_from_rooms"]) == sorted([listening, speaking])
    assert sorted(made["rooms_ended"]) == sorted([own, scheduled])
    for rid in (listening, speaking):
        state = host.get(f"/api/rooms/{rid}").json()
        assert eve.id not in {m["user_id"] for m in state["stage"] + state["audience"]}
        assert state["state"] == "live"
    for rid in (own, scheduled):
        assert host.get(f"/api/rooms/{rid}").json()["state"] == "ended"
    entries = mod.get("/api/moderation/audit").json()["entries"]
    actions = [(e["action"], e["target"]) for e in entries]
    assert ("suspend", f"user:{eve.username}") in actions
    assert ("room.removed", f"user:{eve.username}") in actions


def test_suspension_rules(people: People) -> None:
    mod, eve, admin = people.moderator(), people("eve"), people.admin()
    other_mod = people.moderator("mod2")
    base = "/api/moderation/suspensions"
    assert_error(mod.post(base, {"username": mod.username, "reason": "x"}), 422, field="username")
    assert_error(mod.post(base, {"username": other_mod.username, "reason": "x"}), 403)
    assert_error(mod.post(base, {"username": admin.username, "reason": "x"}), 403)
    assert_error(mod.post(base, {"username": eve.username}), 422, field="reason")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    r = mod.post(base, {"username": eve.username, "reason": "x", "expires_at": past})
    assert_error(r, 422, field="expires_at")
    r = mod.post(base, {"username": eve.username, "reason": "x", "expires_at": "2030-01-01T00:00"})
    assert_error(r, 422, field="expires_at")
    r = mod.post(base, {"username": eve.username, "reason": "x", "duration_hours": -1})
    assert_error(r, 422, field="duration_hours")
    assert_error(mod.post(base, {"username": "no_one_at_all", "reason": "x"}), 404)
    # An admin may suspend a moderator.
    r = admin.post(base, {"username": other_mod.username, "reason": "x", "duration_hours": 1})
    assert r.status_code == 201, r.text


def test_a_suspended_account_cannot_open_a_room_socket(mserver: LiveServer, people: People) -> None:
    mod, eve, host = people.moderator(), people("eve"), people("host")
    rid = host.open_room("Open room")["id"]
    suspend(mod, eve)
    url = f"{mserver.ws_url}/api/rooms/{rid}/ws"
    with ws_connect(url, additional_headers=eve.ws_headers()) as ws:
        refusal = json.loads(ws.recv(timeout=5))
        assert refusal["error"]["code"] == "sign_in_refused"
        code, _ = wait_closed(ws, timeout=2)
        assert code == 4003
    assert_error(eve.post(f"/api/rooms/{rid}/join"), 401, code="sign_in_refused")
    assert_error(eve.post("/api/rooms", {"title": "new"}), 401, code="sign_in_refused")
