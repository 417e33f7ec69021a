"""The room socket over a real uvicorn server: snapshot, ordered events, resuming."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from salon.core.events import EventHub
from tests.helpers import Api, LiveServer

pytestmark = pytest.mark.anyio


def socket_url(server: LiveServer, room_id: int, query: str = "") -> str:
    return f"{server.ws_url}/api/rooms/{room_id}/ws{query}"


async def receive(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    import anyio

    with anyio.fail_after(timeout):
        return json.loads(await ws.recv())


async def events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [await receive(ws) for _ in range(count)]


def drive(host: Api, guest: Api, room_id: int) -> int:
    """A listener joins, raises a hand, is invited, accepts and is muted: 5 events."""
    base = f"/api/rooms/{room_id}"
    assert guest.post(f"{base}/join").status_code == 200
    assert guest.post(f"{base}/hand").status_code == 200
    assert host.post(f"{base}/invite-to-speak", {"user_id": guest.id}).status_code == 200
    assert guest.post(f"{base}/invitation/accept").status_code == 200
    r = host.post(f"{base}/mute", {"user_id": guest.id, "muted": True})
    assert r.status_code == 200, r.text
    return 5


async def test_snapshot_then_the_same_ordered_events_on_two_sockets(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room("Morning show")
    async with (
        websockets.connect(
            socket_url(server, room["id"]), additional_headers=host.ws_headers()
        ) as a,
        websockets.connect(socket_url(server, room["id"])) as b,
    ):
        snap_a, snap_b = await receive(a), await receive(b)
        for snap in (snap_a, snap_b):
            assert snap["type"] == "snapshot"
            assert snap["room"]["title"] == "Morning show"
            assert [m["user"]["username"] for m in snap["room"]["stage"]] == ["host"]
        # The room opened with two events (opened, host joined): the snapshot is after them.
        assert snap_a["seq"] == snap_b["seq"] == 2
        count = drive(host, guest, room["id"])
        got_a, got_b = await events(a, count), await events(b, count)
    assert got_a == got_b
    assert [e["seq"] for e in got_a] == [3, 4, 5, 6, 7]
    assert [e["kind"] for e in got_a] == [
        "member_joined",
        "hand_raised",
        "invited_to_speak",
        "role_changed",
        "mute_changed",
    ]
    last = got_a[-1]["member"]
    assert last["role"] == "speaker" and last["muted_by_moderator"] is True
    assert got_a[0]["member"]["user"]["username"] == "guest"


async def test_reconnecting_client_receives_exactly_what_it_missed(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room()
    async with websockets.connect(socket_url(server, room["id"])) as ws:
        snap = await receive(ws)
    count = drive(host, guest, room["id"])
    query = f"?since={snap['seq']}&epoch={snap['epoch']}"
    async with websockets.connect(socket_url(server, room["id"], query)) as ws:
        missed = await events(ws, count)
        assert [m["type"] for m in missed] == ["event"] * count
        assert [m["seq"] for m in missed] == list(range(snap["seq"] + 1, snap["seq"] + 1 + count))
        # And then the live stream continues with the next number.
        assert host.post(f"/api/rooms/{room['id']}/move-to-audience", {"user_id": guest.id})
        nxt = await receive(ws)
    assert nxt["seq"] == snap["seq"] + count + 1
    assert nxt["kind"] == "role_changed" and nxt["member"]["role"] == "listener"


async def test_client_that_is_up_to_date_gets_no_snapshot(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room()
    async with websockets.connect(socket_url(server, room["id"])) as ws:
        snap = await receive(ws)
    query = f"?since={snap['seq']}&epoch={snap['epoch']}"
    async with websockets.connect(socket_url(server, room["id"], query)) as ws:
        assert guest.post(f"/api/rooms/{room['id']}/join").status_code == 200
        first = await receive(ws)
    assert first["type"] == "event" and first["seq"] == snap["seq"] + 1


@pytest.mark.parametrize("query", ["?since=1&epoch=other", "?since=999&epoch={epoch}"])
async def test_unknown_position_gets_a_fresh_snapshot(server: LiveServer, query: str) -> None:
    host = server.signup("host")
    room = host.open_room()
    async with websockets.connect(socket_url(server, room["id"])) as ws:
        snap = await receive(ws)
    url = socket_url(server, room["id"], query.format(epoch=snap["epoch"]))
    async with websockets.connect(url) as ws:
        again = await receive(ws)
    assert again["type"] == "snapshot" and again["seq"] == snap["seq"]


async def test_ending_the_room_ends_the_stream(server: LiveServer) -> None:
    host = server.signup("host")
    room = host.open_room()
    async with websockets.connect(socket_url(server, room["id"])) as ws:
        await receive(ws)
        assert host.post(f"/api/rooms/{room['id']}/end").status_code == 200
        ended = await receive(ws)
        assert ended["kind"] == "ended" and ended["room"]["state"] == "ended"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_socket_refuses_unknown_and_forbidden_rooms(server: LiveServer) -> None:
    host, stranger = server.signup("host"), server.signup("stranger")
    closed_room = host.open_room("Invite only", visibility="closed")
    for room_id, headers, code, error in (
        (999999, {}, 4004, "not_found"),
        (closed_room["id"], stranger.ws_headers(), 4003, "forbidden"),
        (closed_room["id"], {}, 4003, "forbidden"),
    ):
        async with websockets.connect(
            socket_url(server, room_id), additional_headers=headers
        ) as ws:
            message = await receive(ws)
            assert message["error"]["code"] == error
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    # The host, on the guest list by right, is let in.
    async with websockets.connect(
        socket_url(server, closed_room["id"]), additional_headers=host.ws_headers()
    ) as ws:
        assert (await receive(ws))["type"] == "snapshot"


async def test_cross_site_socket_with_a_session_cookie_is_refused(server: LiveServer) -> None:
    browser = server.browser_session("host")
    room = browser.post("/api/rooms", json={"title": "Mine"}).json()
    cookie = f"salon_session={browser.cookies['salon_session']}"
    evil = {"cookie": cookie, "origin": "http://evil.example"}
    async with websockets.connect(socket_url(server, room["id"]), additional_headers=evil) as ws:
        assert (await receive(ws))["error"]["code"] == "forbidden"
    same = {"cookie": cookie, "origin": server.url}
    async with websockets.connect(socket_url(server, room["id"]), additional_headers=same) as ws:
        assert (await receive(ws))["type"] == "snapshot"


async def test_member_whose_socket_goes_away_leaves_after_the_grace_period(
    make_server: Any,
) -> None:
    server = make_server(instance={"leave_grace_seconds": 0.3})
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room()
    path = f"/api/rooms/{room['id']}"
    async with websockets.connect(
        socket_url(server, room["id"]), additional_headers=host.ws_headers()
    ) as watcher:
        await receive(watcher)
        async with websockets.connect(
            socket_url(server, room["id"]), additional_headers=guest.ws_headers()
        ) as ws:
            await receive(ws)
            guest.post(f"{path}/join")
            assert (await receive(watcher))["kind"] == "member_joined"
        # A reconnect inside the grace period keeps the place...
        async with websockets.connect(
            socket_url(server, room["id"]), additional_headers=guest.ws_headers()
        ) as ws:
            await receive(ws)
            assert guest.post(f"{path}/hand").status_code == 200
            assert (await receive(watcher))["kind"] == "hand_raised"
        # ...while staying away past it is leaving.
        left = await receive(watcher)
    assert left["kind"] == "member_left" and left["user_id"] == guest.id
    assert guest.id not in {m["user_id"] for m in host.get(path).json()["audience"]}


def test_event_hub_history_and_resync_rules() -> None:
    hub = EventHub()
    epoch, seq = hub.position(1)
    assert seq == 0
    for i in range(600):
        hub.publish(1, {"kind": "x", "i": i})
    assert hub.missed(1, epoch, 600) == []
    tail = hub.missed(1, epoch, 550)
    assert tail is not None and [m.seq for m in tail] == list(range(551, 601))
    assert [m.body["i"] for m in tail] == list(range(550, 600))
    # Older than the history holds, another epoch, or from the future: resync.
    assert hub.missed(1, epoch, 10) is None
    assert hub.missed(1, "nope", 590) is None
    assert hub.missed(1, epoch, 601) is None


async def test_event_hub_cuts_off_a_subscriber_that_falls_behind() -> None:
    from salon.core import events as events_module

    hub = EventHub()
    slow = hub.subscribe(7)
    for i in range(events_module.QUEUE_SIZE + 5):
        hub.publish(7, {"i": i})
    assert slow.overflowed
    # Its queue holds only the end-of-stream marker; publishing goes on for others.
    assert slow.queue.get_nowait() is None
    fast = hub.subscribe(7)
    hub.publish(7, {"i": "next"})
    message = fast.queue.get_nowait()
    assert message is not None and message.body["i"] == "next"
    assert json.loads(message.text) == message.body


async def test_removed_members_socket_ends_after_the_removal(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room("Private", visibility="closed")
    host.post(f"/api/rooms/{room['id']}/guests", {"user_id": guest.id})
    assert guest.post(f"/api/rooms/{room['id']}/join").status_code == 200
    async with (
        websockets.connect(
            socket_url(server, room["id"]), additional_headers=guest.ws_headers()
        ) as ws,
        websockets.connect(
            socket_url(server, room["id"]), additional_headers=host.ws_headers()
        ) as host_ws,
    ):
        await receive(ws)
        await receive(host_ws)
        host.post(f"/api/rooms/{room['id']}/remove", {"user_id": guest.id})
        removed = await receive(ws)
        assert removed["kind"] == "member_removed" and removed["user_id"] == guest.id
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
        # Everyone else keeps following the room.
        assert (await receive(host_ws))["kind"] == "member_removed"
        host.patch(f"/api/rooms/{room['id']}", {"title": "Still here"})
        assert (await receive(host_ws))["kind"] == "updated"


async def test_socket_on_an_ended_room_gets_the_snapshot_and_closes(server: LiveServer) -> None:
    host = server.signup("host")
    room = host.open_room()
    host.post(f"/api/rooms/{room['id']}/end")
    async with websockets.connect(socket_url(server, room["id"])) as ws:
        snap = await receive(ws)
        assert snap["type"] == "snapshot" and snap["room"]["state"] == "ended"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_after_a_restart_members_who_do_not_return_leave(
    tmp_path: Any, database_url: str
) -> None:
    from tests.helpers import start_instance, wait_for

    first = start_instance(tmp_path / "a", database_url)
    try:
        host, guest = first.signup("host"), first.signup("guest")
        kept = host.open_room("Kept")
        abandoned = guest.open_room("Abandoned")
        guest.post(f"/api/rooms/{kept['id']}/join")
    finally:
        first.stop()
    second = start_instance(tmp_path / "b", database_url, instance={"leave_grace_seconds": 1.0})
    try:
        # The host comes back to "Kept" in time; nobody returns to "Abandoned".
        async with websockets.connect(
            socket_url(second, kept["id"]), additional_headers=host.ws_headers()
        ) as ws:
            assert (await receive(ws))["type"] == "snapshot"
            left = await receive(ws)
            assert left["kind"] == "member_left" and left["user_id"] == guest.id
            with second.client(host.token) as client:
                wait_for(
                    lambda: client.get(f"/api/rooms/{abandoned['id']}").json()["state"] == "ended"
                )
                room = client.get(f"/api/rooms/{kept['id']}").json()
                hallway = client.get("/api/hallway").json()["rooms"]
        assert room["state"] == "live"
        assert [m["user_id"] for m in room["stage"]] == [host.id]
        assert [r["title"] for r in hallway] == ["Kept"]
    finally:
        second.stop()
