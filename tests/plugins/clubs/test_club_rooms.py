"""Club rooms: who may host them, members-only rooms refused to non-members over HTTP
and over the room socket, the hallway for followers, weekly repeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.helpers import Api, LiveServer, assert_error

from .conftest import make_club, person


@pytest.fixture
def club(server: LiveServer) -> dict[str, Api]:
    """ "Jazz" (handle jazz): ann admin, lee leader, meg member; out is no member."""
    people = {name: person(server, name) for name in ("ann", "lee", "meg", "out")}
    make_club(people["ann"], "Jazz", handle="jazz")
    people["ann"].post("/api/clubs/jazz/invitations", {"username": "lee", "role": "leader"})
    assert people["lee"].post("/api/clubs/jazz/join").status_code == 200
    assert people["meg"].post("/api/clubs/jazz/join").status_code == 200
    return people


def open_club_room(api: Api, **fields: Any) -> dict[str, Any]:
    r = api.post("/api/clubs/jazz/rooms", {"title": "Jam", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def socket_first_message(server: LiveServer, room_id: int, api: Api) -> tuple[Any, Any]:
    """The first message of the room socket as API, and its close code if the server
    closes it (None while it stays open)."""
    url = f"{server.ws_url}/api/rooms/{room_id}/ws"
    with connect(url, additional_headers=api.ws_headers(), open_timeout=5) as ws:
        first = json.loads(ws.recv(timeout=5))
        if "error" not in first:
            return first, None
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        return first, ws.close_code


def test_admins_and_leaders_host_members_do_not(server: LiveServer, club: dict[str, Api]) -> None:
    error = assert_error(club["meg"].post("/api/clubs/jazz/rooms", {"title": "Mine"}), 403)
    assert error["message"] == "only the club's admins and leaders can host its rooms"
    assert_error(club["out"].post("/api/clubs/jazz/rooms", {"title": "Mine"}), 403)
    with server.client() as anonymous:
        assert_error(anonymous.post("/api/clubs/jazz/rooms", json={"title": "x"}), 401)
    for host in ("ann", "lee"):
        room = open_club_room(club[host], title=f"{host}'s jam")
        assert room["state"] == "live" and room["visibility"] == "open"
        assert room["extras"]["club"] == {
            "label": "Jazz",
            "href": "/clubs/jazz",
            "handle": "jazz",
            "name": "Jazz",
            "members_only": False,
        }
    # Demoted to member, lee hosts no more.
    club["ann"].patch("/api/clubs/jazz/members/lee", {"role": "member"})
    assert_error(club["lee"].post("/api/clubs/jazz/rooms", {"title": "Again"}), 403)


def test_members_only_room_refuses_non_members_over_http_and_socket(
    server: LiveServer, club: dict[str, Api]
) -> None:
    room = open_club_room(club["lee"], title="Members jam", members_only=True)
    assert room["visibility"] == "members"
    rid = room["id"]
    # A member joins; a non-member is refused with a clear message, on every path.
    assert club["meg"].post(f"/api/rooms/{rid}/join").status_code == 200
    error = assert_error(club["out"].post(f"/api/rooms/{rid}/join"), 403)
    assert error["message"] == "this room is for members of Jazz"
    assert_error(club["out"].get(f"/api/rooms/{rid}"), 403)
    page = club["out"].get(f"/rooms/{rid}")
    assert page.status_code == 403 and "this room is for members of Jazz" in page.text
    with server.client() as anonymous:
        assert_error(anonymous.get(f"/api/rooms/{rid}"), 403)
    first, code = socket_first_message(server, rid, club["out"])
    assert first["error"]["message"] == "this room is for members of Jazz"
    assert code == 4003
    first, code = socket_first_message(server, rid, club["meg"])
    assert first["type"] == "snapshot" and code is None
    assert first["room"]["extras"]["club"]["members_only"] is True
    # Not listed in the non-member's hallway, nor in the club's schedule for them.
    assert rid not in [r["id"] for r in club["out"].get("/api/hallway").json()["rooms"]]
    assert club["out"].get("/api/clubs/jazz/rooms").json()["rooms"] == []
    assert [r["id"] for r in club["meg"].get("/api/clubs/jazz/rooms").json()["rooms"]] == [rid]
    # Leaving the club closes the door; joining opens it.
    club["meg"].post(f"/api/rooms/{rid}/leave")
    club["meg"].post("/api/clubs/jazz/leave")
    assert_error(club["meg"].post(f"/api/rooms/{rid}/join"), 403)
    club["out"].post("/api/clubs/jazz/join")
    assert club["out"].post(f"/api/rooms/{rid}/join").status_code == 200


def test_followers_see_club_rooms_first_in_the_hallway(
    server: LiveServer, club: dict[str, Api]
) -> None:
    fan, crowd = person(server, "fan"), [person(server, f"p{i}") for i in range(2)]
    busy = crowd[0].open_room("A busy room")
    crowd[1].post(f"/api/rooms/{busy['id']}/join")
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    soon = open_club_room(
        club["ann"], title="Club night", scheduled_for=start.isoformat(), timezone="Europe/Paris"
    )
    assert soon["state"] == "scheduled"
    order = [r["id"] for r in fan.get("/api/hallway").json()["rooms"]]
    assert order == [busy["id"], soon["id"]]  # not following: live and busy first
    assert fan.post("/api/clubs/jazz/follow").status_code == 204
    rooms = fan.get("/api/hallway").json()["rooms"]
    assert [r["id"] for r in rooms] == [soon["id"], busy["id"]]  # before it even opens
    assert rooms[0]["extras"]["club"]["href"] == "/clubs/jazz"
    assert rooms[1]["extras"] == {}
    # Members rank it high too; the hallway card shows the club.
    assert club["meg"].get("/api/hallway").json()["rooms"][0]["id"] == soon["id"]
    html = fan.get("/").text
    assert '<span class="badge extra">Jazz</span>' in html
    assert '<a href="/clubs/jazz">Jazz</a>' in fan.get(f"/rooms/{soon['id']}").text
    # When it opens, followers join it from there.
    club["ann"].post(f"/api/rooms/{soon['id']}/open")
    assert fan.post(f"/api/rooms/{soon['id']}/join").status_code == 200


def test_a_weekly_room_schedules_the_next_when_it_opens(
    server: LiveServer, club: dict[str, Api]
) -> None:
    # 18:00 in Paris on the Thursday before summer time; next week is after the change.
    first = open_club_room(
        club["lee"],
        title="Thursday jam",
        description="Every week",
        scheduled_for="2030-03-28T18:00:00",
        timezone="Europe/Paris",
        weekly=True,
        members_only=True,
    )
    assert first["scheduled_for"] == "2030-03-28T17:00:00+00:00"
    club["lee"].post(f"/api/rooms/{first['id']}/open")
    rooms = club["meg"].get("/api/clubs/jazz/rooms").json()["rooms"]
    assert (rooms[0]["id"], rooms[0]["state"]) == (first["id"], "live")
    (nxt,) = [r for r in rooms if r["state"] == "scheduled"]
    assert nxt["scheduled_for"] == "2030-04-04T16:00:00+00:00"  # still 18:00 in Paris
    paris = datetime.fromisoformat(nxt["scheduled_for"]).astimezone(ZoneInfo("Europe/Paris"))
    assert (paris.hour, paris.minute) == (18, 0)
    assert nxt["title"] == "Thursday jam" and nxt["visibility"] == "members"
    assert nxt["club"] == {
        "members_only": True,
        "timezone": "Europe/Paris",
        "weekly": True,
        "ics_url": f"/api/clubs/jazz/rooms/{nxt['id']}/event.ics",
    }
    assert nxt["creator"]["username"] == "lee"
    # Ending the first leaves next week's: it repeated once, not twice.
    club["lee"].post(f"/api/rooms/{first['id']}/end")
    assert len(club["meg"].get("/api/clubs/jazz/rooms").json()["rooms"]) == 1


def test_bad_club_room_input_names_the_field(server: LiveServer, club: dict[str, Api]) -> None:
    ann = club["ann"]
    cases = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "Forbidden words"}, "title"),
        ({"title": "x", "description": "forbidden"}, "description"),
        ({"title": "x", "timezone": "Mars/Olympus"}, "timezone"),
        ({"title": "x", "scheduled_for": "tomorrow"}, "scheduled_for"),
        ({"title": "x", "scheduled_for": "2001-01-01T10:00"}, "scheduled_for"),
        ({"title": "x", "scheduled_for": 12345}, "scheduled_for"),
        ({"title": "x", "weekly": True}, "weekly"),
        ({"title": "x", "members_only": "yes"}, "members_only"),
        ({"title": "x", "visibility": "open"}, "visibility"),
    ]
    for body, field in cases:
        r = ann.post("/api/clubs/jazz/rooms", body)
        assert r.status_code == 422, (body, r.text)
        assert_error(r, 422, field=field)
    assert_error(ann.post("/api/clubs/nope/rooms", {"title": "x"}), 404, field="handle")
    assert ann.get("/api/clubs/jazz/rooms").json()["rooms"] == []
