"""The core's audio signalling endpoint and the room socket's ephemeral messages,
without any audio transport running."""

from __future__ import annotations

import asyncio
import json

from salon.core.events import EventHub

from ..helpers import LiveServer, assert_error


def test_audio_endpoints_without_a_transport_are_503_for_members(server: LiveServer) -> None:
    host, outsider = server.signup("host"), server.signup("outsider")
    room_id = host.open_room()["id"]
    path = f"/api/rooms/{room_id}/audio"
    assert_error(host.get(path), 503, "unavailable")
    assert_error(host.post(path, {"type": "offer", "sdp": "v=0"}), 503, "unavailable")
    # Who may ask is decided first: outsiders 403, anonymous 401, bad bodies 422.
    assert_error(outsider.get(path), 403)
    assert_error(outsider.post(path, {"type": "offer", "sdp": "v=0"}), 403)
    with server.client() as anonymous:
        assert_error(anonymous.get(path), 401)
    assert_error(host.post(path, {"type": "offer"}), 422, field="sdp")
    assert_error(host.post(path, {"type": "offer", "sdp": "v=0", "x": 1}), 422, field="x")
    assert_error(host.get(f"/api/rooms/{room_id + 100}/audio"), 404)


def test_audio_endpoints_are_in_the_openapi_document(server: LiveServer) -> None:
    with server.client() as client:
        paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/rooms/{room_id}/audio"]) == {"get", "post"}


def test_broadcast_is_neither_numbered_nor_kept() -> None:
    async def run() -> None:
        hub = EventHub()
        sub = hub.subscribe(7)
        hub.publish(7, {"kind": "opened"})
        hub.broadcast(7, {"type": "speaking", "speaking": [1]})
        hub.publish(7, {"kind": "updated"})
        texts = [json.loads(sub.queue.get_nowait().text) for _ in range(3)]
        assert [t.get("seq") for t in texts] == [1, None, 2]
        assert texts[1] == {"type": "speaking", "speaking": [1]}
        assert [m.seq for m in hub.missed(7, hub.position(7)[0], 0) or []] == [1, 2]
        hub.broadcast(8, {"type": "speaking", "speaking": []})  # nobody there: a no-op

    asyncio.run(run())
