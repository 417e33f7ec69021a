"""User-to-user blocks, action by action over HTTP and the room socket: a block holds
both ways, whoever made it."""

from __future__ import annotations

import asyncio
import json

from sqlmodel import Session, col, select
from websockets.sync.client import connect as ws_connect

from salon.core.db import make_sync_engine
from salon.core.models import User
from salon.core.permissions import RoomTarget
from salon.core.rooms import Room
from tests.helpers import Api, LiveServer, assert_error

from .conftest import People
from .sockets import open_socket, wait_closed


def block(blocker: Api, blocked: Api) -> dict:
    r = blocker.post("/api/moderation/blocks", {"username": blocked.username})
    assert r.status_code == 201, r.text
    return r.json()


def names(r) -> set[str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    return {u["username"] for u in r.json()["users"]}


def hallway_ids(who: Api) -> set[int]:
    r = who.get("/api/hallway")
    assert r.status_code == 200, r.text
    return {room["id"] for room in r.json()["rooms"]}


def test_block_ends_follows_and_refuses_following_both_ways(people: People) -> None:
    ann, bob = people("ann"), people("bob")
    assert ann.post(f"/api/users/{bob.username}/follow").status_code == 204
    assert bob.post(f"/api/users/{ann.username}/follow").status_code == 204

    made = block(ann, bob)
    assert made["follows_ended"] == 2
    assert names(ann.get(f"/api/users/{ann.username}/followers")) == set()
    assert names(ann.get(f"/api/users/{ann.username}/following")) == set()
    # user.follow, both ways
    assert_error(bob.post(f"/api/users/{ann.username}/follow"), 403)
    assert_error(ann.post(f"/api/users/{bob.username}/follow"), 403)

    r = ann.get("/api/moderation/blocks")
    assert [b["user"]["username"] for b in r.json()["blocks"]] == [bob.username]
    assert bob.get("/api/moderation/blocks").json()["blocks"] == []

    assert ann.delete(f"/api/moderation/blocks/{bob.username}").status_code == 204
    assert bob.post(f"/api/users/{ann.username}/follow").status_code == 204
    assert_error(ann.delete(f"/api/moderation/blocks/{bob.username}"), 404, field="username")


def test_profiles_and_lists_hide_each_other(people: People) -> None:
    ann, bob, dan = people("ann"), people("bob"), people("dan")
    for followed in (ann, bob):
        assert dan.post(f"/api/users/{followed.username}/follow").status_code == 204
        assert followed.post(f"/api/users/{dan.username}/follow").status_code == 204
    block(bob, ann)  # made by bob, holds for ann too

    # user.view: each other's profile and lists
    assert_error(ann.get(f"/api/users/{bob.username}"), 403)
    assert_error(bob.get(f"/api/users/{ann.username}"), 403)
    assert_error(ann.get(f"/api/users/{bob.username}/followers"), 403)
    # user.view per item: in a third person's lists, each is missing for the other
    both = {ann.username, bob.username}
    assert names(dan.get(f"/api/users/{dan.username}/following")) == both
    assert names(dan.get(f"/api/users/{dan.username}/followers")) == both
    assert names(ann.get(f"/api/users/{dan.username}/following")) == {ann.username}
    assert names(bob.get(f"/api/users/{dan.username}/followers")) == {bob.username}
    assert dan.get(f"/api/users/{ann.username}").status_code == 200


def test_blocked_cannot_see_join_or_listen_to_a_room_the_blocker_hosts(
    mserver: LiveServer, people: People
) -> None:
    ann, bob = people("ann"), people("bob")
    room = ann.open_room("Ann's room")
    rid = room["id"]
    assert bob.post(f"/api/rooms/{rid}/join").status_code == 200
    with open_socket(mserver, rid, bob) as ws:
        made = block(ann, bob)
        # Already in the room: taken out, and the socket closes as "not allowed".
        assert made["rooms_left"] == [rid]
        code, seen = wait_closed(ws, timeout=2)
        assert code == 4003
        assert any(m.get("kind") == "member_removed" for m in seen), seen
    assert bob.id not in {m["user_id"] for m in ann.get(f"/api/rooms/{rid}").json()["audience"]}
    assert_error(bob.post(f"/api/rooms/{rid}/join"), 403)  # room.join
    assert_error(bob.get(f"/api/rooms/{rid}"), 403)  # room.view
    assert rid not in hallway_ids(bob)  # the hallway asks room.view per room
    assert rid in hallway_ids(people("cat"))
    # The other way too: rooms bob hosts are hidden from ann.
    bobs = bob.open_room("Bob's room")["id"]
    assert bobs not in hallway_ids(ann)
    assert_error(ann.post(f"/api/rooms/{bobs}/join"), 403)
    # Unblocking lets bob in again.
    assert ann.delete(f"/api/moderation/blocks/{bob.username}").status_code == 204
    assert bob.post(f"/api/rooms/{rid}/join").status_code == 200


def test_blocked_cannot_join_a_room_where_the_blocker_speaks(people: People) -> None:
    ann, bob, cat = people("ann"), people("bob"), people("cat")
    rid = cat.open_room("Cat's room")["id"]
    assert ann.post(f"/api/rooms/{rid}/join").status_code == 200
    assert bob.post(f"/api/rooms/{rid}/join").status_code == 200
    block(ann, bob)
    # ann is in the audience: nothing changes for bob yet.
    assert bob.get(f"/api/rooms/{rid}").status_code == 200
    # ann goes on stage: bob, who is in the audience, is not put with her on stage...
    assert cat.post(f"/api/rooms/{rid}/invite-to-speak", {"user_id": ann.id}).status_code == 200
    assert ann.post(f"/api/rooms/{rid}/invitation/accept").status_code == 200
    assert_error(cat.post(f"/api/rooms/{rid}/invite-to-speak", {"user_id": bob.id}), 403)
    # ... and once he leaves, he cannot come back while she speaks.
    assert bob.post(f"/api/rooms/{rid}/leave").status_code == 200
    assert_error(bob.post(f"/api/rooms/{rid}/join"), 403)
    assert rid not in hallway_ids(bob)
    assert rid in hallway_ids(ann)


def test_the_hallway_audience_leaves_out_blocked_people_both_ways(people: People) -> None:
    """In a third person's room both may listen, but neither is listed in the
    hallway's audience the other sees (``user.view``); others see both."""
    ann, bob, cat, dan = people("ann"), people("bob"), people("cat"), people("dan")
    block(ann, bob)
    rooms = [cat.open_room("Cat's room")["id"], dan.open_room("Dan's room")["id"]]
    for rid in rooms:
        for who in (ann, bob):
            assert who.post(f"/api/rooms/{rid}/join").status_code == 200

    def audiences(viewer: Api) -> list[set[str]]:
        r = viewer.get("/api/hallway")
        assert r.status_code == 200, r.text
        by_id = {room["id"]: room for room in r.json()["rooms"]}
        return [{m["user"]["username"] for m in by_id[rid]["audience"]} for rid in rooms]

    assert audiences(ann) == [{ann.username}] * 2
    assert audiences(bob) == [{bob.username}] * 2
    assert audiences(cat) == [{ann.username, bob.username}] * 2
    assert ann.delete(f"/api/moderation/blocks/{bob.username}").status_code == 204
    assert audiences(ann) == [{ann.username, bob.username}] * 2


def test_invite_to_speak_and_guest_list_refused_between_blocked_people(
    people: People,
) -> None:
    ann, bob = people("ann"), people("bob")
    rid = ann.open_room("Ann's room")["id"]
    assert bob.post(f"/api/rooms/{rid}/join").status_code == 200
    block(bob, ann)  # bob blocks the host: he stays where he is, she cannot bring him up
    assert_error(ann.post(f"/api/rooms/{rid}/invite-to-speak", {"user_id": bob.id}), 403)
    # A block never stops the protective actions: the host can still remove him.
    r = ann.post(f"/api/rooms/{rid}/remove", {"user_id": bob.id})
    assert r.status_code == 200, r.text

    closed = ann.open_room("Closed", visibility="closed")["id"]
    assert_error(ann.post(f"/api/rooms/{closed}/guests", {"user_id": bob.id}), 403)  # room.invite
    cat = people("cat")
    assert ann.post(f"/api/rooms/{closed}/guests", {"user_id": cat.id}).status_code == 200


def test_block_input_errors(people: People) -> None:
    ann = people("ann")
    assert_error(
        ann.post("/api/moderation/blocks", {"username": ann.username}), 422, field="username"
    )
    assert_error(
        ann.post("/api/moderation/blocks", {"username": "nobody_here"}), 404, field="username"
    )
    assert_error(ann.post("/api/moderation/blocks", {}), 422, field="username")
    assert_error(
        ann.post("/api/moderation/blocks", {"username": "x", "extra": 1}), 422, field="extra"
    )


def ask(server: LiveServer, actor: Api, action: str, resource: object) -> bool:
    """Ask the instance's permissions, as any plugin's code does, in its own loop."""
    engine = make_sync_engine(server.settings.instance.database_url)
    with Session(engine) as session:
        user = session.get(User, actor.id)
        session.expunge_all()
    engine.dispose()
    coro = server.app.state.permissions.allowed(user, action, resource)
    return asyncio.run_coroutine_threadsafe(coro, server.app.state.moderation.loop).result(5)


def test_any_action_aimed_at_a_blocked_user_is_refused(mserver: LiveServer, people: People) -> None:
    """The rule is general: another plugin's action on a User (say ``payments.send``
    to a creator) or on a RoomTarget aimed at a user is refused between blocked people;
    others are left alone."""
    ann, bob, cat = people("ann"), people("bob"), people("cat")
    block(ann, bob)
    with Session(people.engine) as session:
        users = {
            u.id: u
            for u in session.exec(select(User).where(col(User.id).in_([ann.id, bob.id, cat.id])))
        }
        session.expunge_all()
    room = Room(id=1, title="t", creator_id=cat.id)
    for action in ("payments.send", "clubs.invite", "user.view", "user.follow"):
        assert not ask(mserver, bob, action, users[ann.id]), action
        assert not ask(mserver, ann, action, users[bob.id]), action
    assert not ask(mserver, ann, "room.invite_to_speak", RoomTarget(room, bob.id))
    assert ask(mserver, cat, "user.view", users[ann.id])
    assert ask(mserver, ann, "user.view", users[cat.id])


def test_a_blocked_persons_room_socket_is_refused(mserver: LiveServer, people: People) -> None:
    ann, bob = people("ann"), people("bob")
    rid = ann.open_room("Ann's room")["id"]
    block(bob, ann)
    url = f"{mserver.ws_url}/api/rooms/{rid}/ws"
    with ws_connect(url, additional_headers=bob.ws_headers()) as ws:
        refusal = json.loads(ws.recv(timeout=5))
        assert refusal["error"]["code"] == "forbidden"
        code, _ = wait_closed(ws, timeout=2)
        assert code == 4003
    with open_socket(mserver, rid, people("cat")):
        pass  # others still get in
