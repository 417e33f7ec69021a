"""Rooms over HTTP: who may join, who may moderate, what the stored state says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import Api, LiveServer


def room_path(room: dict, action: str = "") -> str:
    return f"/api/rooms/{room['id']}" + (f"/{action}" if action else "")


def members(api: Api, room: dict) -> dict[int, dict]:
    body = api.get(room_path(room)).json()
    return {m["user_id"]: m for m in body["stage"] + body["audience"]}


def test_whole_stage_flow_is_stored(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room("Stage flow", description="about things")
    assert room["state"] == "live" and room["stage"][0]["role"] == "host"
    assert guest.post(room_path(room, "join")).status_code == 200
    assert guest.post(room_path(room, "hand")).json()["audience"][0]["hand_raised"] is True
    assert guest.delete(room_path(room, "hand")).json()["audience"][0]["hand_raised"] is False
    guest.post(room_path(room, "hand"))
    host.post(room_path(room, "invite-to-speak"), {"user_id": guest.id})
    body = guest.post(room_path(room, "invitation/accept")).json()
    assert [m["user"]["username"] for m in body["stage"]] == ["host", "guest"]
    # Self unmute, a moderator's mute holds, lifting it lets the speaker unmute.
    assert guest.post(room_path(room, "mute"), {"user_id": guest.id, "muted": False}).json()
    assert members(host, room)[guest.id]["muted"] is False
    host.post(room_path(room, "mute"), {"user_id": guest.id, "muted": True})
    r = guest.post(room_path(room, "mute"), {"user_id": guest.id, "muted": False})
    assert r.status_code == 403 and r.json()["error"]["code"] == "room_forbidden"
    host.post(room_path(room, "mute"), {"user_id": guest.id, "muted": False})
    assert guest.post(room_path(room, "mute"), {"user_id": guest.id, "muted": False}).is_success
    host.post(room_path(room, "make-moderator"), {"user_id": guest.id})
    assert members(host, room)[guest.id]["role"] == "moderator"
    # The host leaves: the moderator takes over.
    assert host.post(room_path(room, "leave")).status_code == 200
    assert members(guest, room)[guest.id]["role"] == "host"
    # The last one out ends the room.
    assert guest.post(room_path(room, "leave")).json()["state"] == "ended"
    r = guest.post(room_path(room, "join"))
    assert r.status_code == 409 or r.status_code == 403


def test_listener_cannot_moderate_and_moderator_cannot_touch_host(server: LiveServer) -> None:
    host, mod, listener = server.signup("host"), server.signup("mod"), server.signup("listener")
    room = host.open_room()
    for user in (mod, listener):
        user.post(room_path(room, "join"))
    host.post(room_path(room, "invite-to-speak"), {"user_id": mod.id})
    mod.post(room_path(room, "invitation/accept"))
    host.post(room_path(room, "make-moderator"), {"user_id": mod.id})
    for action, body in (
        ("invite-to-speak", {"user_id": mod.id}),
        ("remove", {"user_id": host.id}),
        ("mute", {"user_id": host.id, "muted": True}),
        ("end", {}),
    ):
        r = listener.post(room_path(room, action), body)
        assert r.status_code == 403, (action, r.text)
    r = mod.post(room_path(room, "remove"), {"user_id": host.id})
    assert r.status_code == 403 and "moderator" in r.json()["error"]["message"]
    assert mod.post(room_path(room, "invite-to-speak"), {"user_id": listener.id}).is_success
    assert host.id in members(host, room)


def test_removed_member_cannot_rejoin(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room()
    guest.post(room_path(room, "join"))
    assert host.post(room_path(room, "remove"), {"user_id": guest.id}).status_code == 200
    r = guest.post(room_path(room, "join"))
    assert r.status_code == 403
    assert "removed" in r.json()["error"]["message"]
    assert guest.id not in members(host, room)


def test_social_room_admits_followers_of_speakers(server: LiveServer) -> None:
    host, fan, stranger = server.signup("host"), server.signup("fan"), server.signup("stranger")
    fan.post(f"/api/users/{host.username}/follow")
    room = host.open_room("Friends", visibility="social")
    assert fan.post(room_path(room, "join")).status_code == 200
    r = stranger.post(room_path(room, "join"))
    assert r.status_code == 403 and "followers" in r.json()["error"]["message"]
    assert stranger.get(room_path(room)).status_code == 403
    # Following anyone on stage is enough: the fan speaks, the stranger follows the fan.
    host.post(room_path(room, "invite-to-speak"), {"user_id": fan.id})
    fan.post(room_path(room, "invitation/accept"))
    stranger.post(f"/api/users/{fan.username}/follow")
    assert stranger.post(room_path(room, "join")).status_code == 200


def test_closed_room_admits_its_guest_list_only(server: LiveServer) -> None:
    host, guest, other = server.signup("host"), server.signup("guest"), server.signup("other")
    room = host.open_room("Private", visibility="closed")
    assert guest.post(room_path(room, "join")).status_code == 403
    assert host.post(room_path(room, "guests"), {"user_id": guest.id}).status_code == 200
    assert guest.post(room_path(room, "join")).status_code == 200
    assert other.post(room_path(room, "join")).status_code == 403
    r = host.post(room_path(room, "guests"), {"user_id": 999999})
    assert r.status_code == 422 and r.json()["error"]["field"] == "user_id"


def test_scheduled_room_opens_only_by_its_creator(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    room = host.open_room("Later", scheduled_for=start.isoformat())
    assert room["state"] == "scheduled" and room["stage"] == []
    assert datetime.fromisoformat(room["scheduled_for"]) == start
    assert guest.post(room_path(room, "join")).status_code == 409
    assert guest.post(room_path(room, "open")).status_code == 403
    opened = host.post(room_path(room, "open")).json()
    assert opened["state"] == "live" and opened["stage"][0]["user_id"] == host.id
    assert host.post(room_path(room, "open")).status_code == 409


def test_naive_schedule_time_is_refused_naming_the_field(server: LiveServer) -> None:
    host = server.signup("host")
    r = host.post("/api/rooms", {"title": "x", "scheduled_for": "2030-01-01T10:00:00"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "scheduled_for"


def test_title_update_by_host_only(server: LiveServer) -> None:
    host, guest = server.signup("host"), server.signup("guest")
    room = host.open_room("Old")
    guest.post(room_path(room, "join"))
    assert guest.patch(room_path(room), {"title": "Hijacked"}).status_code == 403
    assert host.patch(room_path(room), {"title": "New"}).json()["title"] == "New"
    assert guest.get(room_path(room)).json()["title"] == "New"
