"""The federated hallway (issue 9): who sees a room from another server (open rooms
anyone, social ones only followers of its people), a club room reaching the club's
followers, rooms nobody refreshes leaving after the TTL, and a forged room (its id
on another origin) refused."""

from __future__ import annotations

import json
import uuid
from typing import Any

from salon.federation import signatures as sig
from salon.federation.room_objects import ROOM_CONTEXT

from .helpers import Cluster, eventually, rows, signing_key
from .test_inbox_security import post, signed
from .test_room_publishing import card, follow, hallway


def test_visibility_decides_who_sees_a_remote_room(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ann, bea = a.signup("ann"), a.signup("bea")
    carol = b.signup("carol")
    follow(ann, b.actor("carol"))

    social = carol.open_room("Friends only", visibility="social")
    social_uri = f"{b.url}/rooms/{social['id']}"
    eventually(lambda: card(a, ann, social_uri))
    assert card(a, bea, social_uri) is None  # bea follows nobody there
    assert all(c["id"] != social_uri for c in hallway(a))  # nor does a visitor

    assert carol.post(f"/api/rooms/{social['id']}/end").status_code == 200
    eventually(lambda: card(a, ann, social_uri) is None)
    dave = b.signup("dave")
    follow(ann, b.actor("dave"))
    open_room = dave.open_room("Everyone welcome")
    open_uri = f"{b.url}/rooms/{open_room['id']}"
    seen = eventually(lambda: card(a, ann, open_uri))
    assert seen["followed_people"] == 1
    # An open room someone here follows the people of is listed to everyone.
    assert card(a, bea, open_uri)["followed_people"] == 0  # type: ignore[index]
    assert any(c["id"] == open_uri for c in hallway(a))
    # A local room and a remote one are ranked by the same rule: followed people first.
    local = bea.open_room("Local chat")
    order = [c["id"] for c in hallway(a, ann)]
    assert order.index(open_uri) < order.index(local["id"])


def test_salon_room_actors(cluster: Cluster) -> None:
    """The clubs plugin's ``salon_room_actors``: a club room reaches the club's followers."""
    a = cluster.start("A")
    b = cluster.start("B", enabled=["clubs"])
    ann, carol = a.signup("ann"), b.signup("carol")
    r = carol.post("/api/clubs", {"name": "Night Owls", "handle": "nightowls"})
    assert r.status_code == 201, r.text
    follow(ann, f"{b.url}/actors/nightowls")
    r = carol.post("/api/clubs/nightowls/rooms", {"title": "Owl hour"})
    assert r.status_code == 201, r.text
    uri = f"{b.url}/rooms/{r.json()['id']}"
    seen = eventually(lambda: card(a, ann, uri))
    assert seen["followed_people"] == 1 and seen["title"] == "Owl hour"
    with b.client() as client:
        obj = client.get(uri, headers={"accept": "application/activity+json"}).json()
    assert obj["club"] == f"{b.url}/actors/nightowls"


def test_a_room_nobody_refreshes_leaves_after_the_ttl(cluster: Cluster) -> None:
    ttl = 2.0
    a = cluster.start("A", remote_room_ttl_seconds=ttl)
    b = cluster.start("B", room_keepalive_seconds=600, room_refresh_seconds=600)
    ann, carol = a.signup("ann"), b.signup("carol")
    follow(ann, b.actor("carol"))
    room = carol.open_room("Quiet room")
    uri = f"{b.url}/rooms/{room['id']}"
    eventually(lambda: card(a, ann, uri))
    # B's keepalive is far off: nothing refreshes the room within A's TTL.
    eventually(lambda: card(a, ann, uri) is None, timeout=ttl + 10)
    assert rows(b, "SELECT state FROM room WHERE id = :i", i=room["id"]) == [("live",)]
    # And the stored row is purged.
    count = "SELECT count(*) FROM federation_remote_room"
    eventually(lambda: rows(a, count)[0][0] == 0, timeout=ttl + 10)


def test_a_forged_room_is_refused(cluster: Cluster) -> None:
    """B's user cannot publish a room whose id is on another server (A's own, here),
    nor one attributed to someone on another server."""
    a = cluster.start("A")
    b = cluster.start("B")
    ann, _ = a.signup("ann"), b.signup("carol")
    follow(ann, b.actor("carol"))
    key_id, key = signing_key(b, b.actor("carol"))

    def forged(room_id: str, attributed_to: str, **extra: Any) -> str:
        activity = {
            "@context": ROOM_CONTEXT,
            "id": f"{b.url}/activities/{uuid.uuid4()}",
            "type": "Create",
            "actor": b.actor("carol"),
            "object": {
                "id": room_id,
                "type": ["Event", "SalonRoom"],
                "attributedTo": attributed_to,
                "name": "Forged",
                "roomState": "live",
                "visibility": "open",
                "speakers": [{"id": b.actor("carol"), "role": "host"}],
                "listenerCount": 1,
                **extra,
            },
        }
        headers, body = signed(
            sig.RFC9421, f"{a.url}/inbox", json.dumps(activity).encode(), key_id, key
        )
        r = post(f"{a.url}/inbox", headers, body)
        assert r.status_code == 202, r.text
        return activity["id"]

    def outcome(activity_id: str) -> tuple[str, str] | None:
        query = "SELECT state, error FROM federation_inbox_item WHERE activity_id = :i"
        found = rows(a, query, i=activity_id)
        return tuple(found[0]) if found and found[0][0] != "received" else None  # type: ignore[return-value]

    first = forged(f"{a.url}/rooms/1", b.actor("carol"))
    state, error = eventually(lambda: outcome(first))
    assert state == "failed" and "id is not on the sender's origin" in error, error
    second = forged(f"{b.url}/rooms/99", a.actor("ann"))
    state, error = eventually(lambda: outcome(second))
    assert state == "failed" and "attributedTo is not on the sender's origin" in error, error
    # The same room, genuine, is taken: the refusals were about the forgery alone; a
    # join link on another server than the room's is dropped (grants never go there).
    genuine = forged(
        f"{b.url}/rooms/99",
        b.actor("carol"),
        joinPage=f"{a.url}/steal",
        joinEndpoint=f"{b.url}/api/federation/join",
    )
    assert eventually(lambda: outcome(genuine)) == ("processed", "")
    taken = card(a, ann, f"{b.url}/rooms/99")
    assert taken is not None and taken["join_page"] is None
    assert taken["join_endpoint"] == f"{b.url}/api/federation/join"
    assert card(a, ann, f"{a.url}/rooms/1") is None
