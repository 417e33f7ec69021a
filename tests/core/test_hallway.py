"""The hallway: which rooms a viewer sees, in which order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import LiveServer


def titles(server: LiveServer, token: str | None = None) -> list[str]:
    with server.client(token) as client:
        r = client.get("/api/hallway")
    assert r.status_code == 200, r.text
    return [room["title"] for room in r.json()["rooms"]]


def test_ranking_followed_first_then_size_then_start_time(server: LiveServer) -> None:
    viewer = server.signup("viewer")
    friend, big, small = server.signup("friend"), server.signup("big"), server.signup("small")
    crowd = [server.signup(f"crowd{i}") for i in range(3)]
    soon, later = server.signup("soon"), server.signup("later")

    small.open_room("Small room")
    big_room = big.open_room("Big room")
    for person in crowd:
        person.post(f"/api/rooms/{big_room['id']}/join")
    friend.open_room("Friend's room")
    now = datetime.now(UTC)
    later.open_room("Later", scheduled_for=(now + timedelta(days=2)).isoformat())
    soon.open_room("Soon", scheduled_for=(now + timedelta(hours=1)).isoformat())
    viewer.post(f"/api/users/{friend.username}/follow")

    assert titles(server, viewer.token) == [
        "Friend's room",
        "Big room",
        "Small room",
        "Soon",
        "Later",
    ]
    # Someone who follows nobody sees the same rooms by size and time.
    assert titles(server, crowd[0].token)[:2] == ["Big room", "Friend's room"]


def test_followed_person_in_the_audience_also_lifts_a_room(server: LiveServer) -> None:
    viewer, friend = server.signup("viewer"), server.signup("friend")
    a, b = server.signup("anna"), server.signup("bert")
    room_a = a.open_room("A")
    b.open_room("B")
    b_room_extra = server.signup("extra")
    b_room_extra.post(f"/api/rooms/{room_a['id']}/join")  # A is bigger
    assert titles(server, viewer.token) == ["A", "B"]
    viewer.post(f"/api/users/{friend.username}/follow")
    hallway_b = next(r for r in viewer.get("/api/hallway").json()["rooms"] if r["title"] == "B")
    friend.post(f"/api/rooms/{hallway_b['id']}/join")
    assert titles(server, viewer.token) == ["B", "A"]


def test_hallway_hides_what_the_viewer_may_not_see_and_ended_rooms(server: LiveServer) -> None:
    host, fan, stranger = server.signup("host"), server.signup("fan"), server.signup("stranger")
    fan.post(f"/api/users/{host.username}/follow")
    host.open_room("Open")
    host.open_room("Social", visibility="social")
    host.open_room("Closed", visibility="closed")
    ended = host.open_room("Ended")
    host.post(f"/api/rooms/{ended['id']}/end")
    assert sorted(titles(server, fan.token)) == ["Open", "Social"]
    assert titles(server, stranger.token) == ["Open"]
    assert titles(server) == ["Open"]  # anonymous visitors see open rooms
    assert sorted(titles(server, host.token)) == ["Closed", "Open", "Social"]
