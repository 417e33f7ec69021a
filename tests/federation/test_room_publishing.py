"""Rooms as federated objects (issue 9): a room that goes live on B reaches the
hallway of A, whose user follows its host; changes that matter follow at once,
listener counts at most once per refresh interval; the end takes it away; scheduled
rooms are published when scheduled. Servers that are not Salon get a Note instead,
deleted at the end. The room object is served at its URL to ActivityPub
clients, and the extension context at /ns/salon."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from salon.federation.room_objects import NS, ROOM_TYPE

from .helpers import Cluster, Instance, eventually, rows
from .test_mastodon_shapes import Mastodonish

ACTIVITY = {"accept": "application/activity+json"}


def follow(api: Any, actor: str) -> None:
    """API's user follows the remote ACTOR, and the follow is accepted."""
    r = api.post("/api/federation/follows", {"actor": actor})
    assert r.status_code == 202, r.text

    def accepted() -> bool:
        found = api.get("/api/federation/lookup", params={"q": actor}).json()
        return found["follow_state"] == "accepted"

    eventually(accepted)


def hallway(server: Instance, api: Any = None) -> list[dict[str, Any]]:
    if api is not None:
        r = api.get("/api/hallway")
    else:
        with server.client() as client:
            r = client.get("/api/hallway")
    assert r.status_code == 200, r.text
    return r.json()["rooms"]


def card(server: Instance, api: Any, room_id: str) -> dict[str, Any] | None:
    return next((c for c in hallway(server, api) if c["id"] == room_id), None)


def deliveries(server: Instance, kind: str, room_uri: str) -> list[dict[str, Any]]:
    """Activities of type KIND about ROOM_URI that SERVER queued, oldest first, with
    their inbox and when they were queued."""
    found = []
    query = "SELECT body, inbox, created_at FROM federation_delivery ORDER BY id"
    for body, inbox, created in rows(server, query):
        activity = json.loads(body)
        obj = activity.get("object")
        oid = obj.get("id") if isinstance(obj, dict) else obj
        if activity["type"] == kind and isinstance(oid, str) and oid.startswith(room_uri):
            found.append({**activity, "_inbox": inbox, "_at": created})
    return found


def test_a_room_travels_to_a_followers_hallway(any_cluster: Cluster) -> None:
    cluster = any_cluster
    refresh = 1.0
    a = cluster.start("A")
    b = cluster.start("B", room_refresh_seconds=refresh, room_keepalive_seconds=600)
    ann, carol = a.signup("ann"), b.signup("carol")
    follow(ann, b.actor("carol"))

    started = time.monotonic()
    room = carol.open_room("Late jazz", description="Records and talk")
    uri = f"{b.url}/rooms/{room['id']}"
    seen = eventually(lambda: card(a, ann, uri))
    elapsed = time.monotonic() - started
    print(f"\ngo-live on B -> in A's hallway: {elapsed * 1000:.0f} ms")
    assert seen["title"] == "Late jazz" and seen["description"] == "Records and talk"
    assert seen["state"] == "live" and seen["visibility"] == "open"
    assert seen["origin"] == b.host
    assert seen["creator"]["username"] == f"carol@{b.host}"
    assert seen["stage"] == [
        {"role": "host", "user": {"username": f"carol@{b.host}", "display_name": "carol"}}
    ]
    assert seen["followed_people"] == 1 and seen["listener_count"] == 1
    assert seen["href"].startswith("/federation/join-remote?room=http")
    assert seen["join_page"] == f"{b.url}/federation/join"
    assert seen["join_endpoint"] == f"{b.url}/api/federation/join"

    # The object itself: an Event that is a SalonRoom, with the documented terms.
    (create,) = deliveries(b, "Create", uri)
    obj = create["object"]
    assert create["actor"] == b.actor("carol") and create["_inbox"] == f"{a.url}/inbox"
    assert obj["type"] == ["Event", ROOM_TYPE] and obj["attributedTo"] == b.actor("carol")
    assert create["@context"][1]["salon"] == NS
    assert obj["roomState"] == "live" and obj["url"] == uri and obj["id"] == uri
    assert obj["joinEndpoint"] == f"{b.url}/api/federation/join"
    assert obj["speakers"] == [
        {"id": b.actor("carol"), "name": "carol", "preferredUsername": "carol", "role": "host"}
    ]
    with b.client() as client:
        served = client.get(f"/rooms/{room['id']}", headers=ACTIVITY)
        assert served.status_code == 200 and served.json()["id"] == uri
        assert served.headers["content-type"].startswith("application/activity+json")
        page = client.get(f"/rooms/{room['id']}")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    # The core's other pages under /rooms/ stay the core's.
    new_room = carol.get("/rooms/new")
    assert new_room.status_code == 200 and "text/html" in new_room.headers["content-type"]
    with b.client() as client:
        context = client.get("/ns/salon").json()["@context"]
        assert context["salon"] == NS and context["roomState"] == "salon:roomState"

    # A title change goes out at once.
    r = carol.patch(f"/api/rooms/{room['id']}", {"title": "Later jazz"})
    assert r.status_code == 200, r.text
    eventually(lambda: (card(a, ann, uri) or {}).get("title") == "Later jazz")

    # A stage change: dave joins, is invited to speak and accepts.
    dave = b.signup("dave")
    assert dave.post(f"/api/rooms/{room['id']}/join").status_code == 200
    r = carol.post(f"/api/rooms/{room['id']}/invite-to-speak", {"user_id": dave.id})
    assert r.status_code == 200, r.text
    assert dave.post(f"/api/rooms/{room['id']}/invitation/accept").status_code == 200
    eventually(
        lambda: (
            [s["user"]["username"] for s in (card(a, ann, uri) or {}).get("stage", [])]
            == [f"carol@{b.host}", f"dave@{b.host}"]
        )
    )

    # Many joins: the listener count is refreshed at most once per interval.
    listeners = [b.browser_session(f"listener{n}") for n in range(4)]
    before = len(deliveries(b, "Update", uri))
    joined = time.monotonic()
    for listener in listeners:
        assert listener.post(f"/api/rooms/{room['id']}/join", json={}).status_code == 200
        listener.close()
    eventually(lambda: (card(a, ann, uri) or {}).get("listener_count") == 6, timeout=10)
    window = time.monotonic() - joined
    counted = deliveries(b, "Update", uri)[before:]
    assert counted and len(counted) <= window / refresh + 1, (window, len(counted))
    assert len(counted) < len(listeners)  # not one per join
    times = [datetime.fromisoformat(str(u["_at"])) for u in counted]
    for earlier, later in itertools.pairwise(times):
        assert (later - earlier).total_seconds() >= refresh * 0.9

    # The end: an Update with roomState ended, and the room leaves A's hallway.
    assert carol.post(f"/api/rooms/{room['id']}/end").status_code == 200
    eventually(lambda: card(a, ann, uri) is None)
    assert deliveries(b, "Update", uri)[-1]["object"]["roomState"] == "ended"
    assert not deliveries(b, "Delete", uri)  # no Note was told to a Salon server

    # A scheduled room is published when scheduled, and updated when it opens.
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    later = carol.open_room("Tuesday talk", scheduled_for=when.isoformat())
    later_uri = f"{b.url}/rooms/{later['id']}"
    seen = eventually(lambda: card(a, ann, later_uri))
    assert seen["state"] == "scheduled"
    assert datetime.fromisoformat(seen["scheduled_for"]) == when
    (create,) = deliveries(b, "Create", later_uri)
    assert create["object"]["roomState"] == "scheduled"
    assert carol.post(f"/api/rooms/{later['id']}/open").status_code == 200
    eventually(lambda: (card(a, ann, later_uri) or {}).get("state") == "live")
    assert deliveries(b, "Update", later_uri)[-1]["object"]["roomState"] == "live"


def test_servers_that_are_not_salon_get_a_note(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ann, carol = a.signup("ann"), b.signup("carol")
    follow(ann, b.actor("carol"))
    mastodon = Mastodonish()
    try:
        r = mastodon.cavage_post(
            f"{b.url}/users/carol/inbox",
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{mastodon.url}/follows/1",
                "type": "Follow",
                "actor": mastodon.alice,
                "object": b.actor("carol"),
            },
        )
        assert r.status_code == 202, r.text
        eventually(lambda: mastodon.inbox)  # the Accept

        def received() -> list[dict[str, Any]]:
            return [json.loads(body) for _, body in mastodon.inbox]

        room = carol.open_room("Morning news")
        uri = f"{b.url}/rooms/{room['id']}"
        create = eventually(lambda: next((x for x in received() if x["type"] == "Create"), None))
        note = create["object"]
        assert note["type"] == "Note" and note["attributedTo"] == b.actor("carol")
        assert note["url"] == uri and note["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
        assert note["cc"] == [f"{b.actor('carol')}/followers"]
        assert f"@carol@{b.host} is live: Morning news — {uri}" == note["source"]["content"]
        assert "is live: Morning news" in note["content"] and f'href="{uri}"' in note["content"]
        eventually(lambda: card(a, ann, uri))
        # The Salon follower got the room, not the Note; the other server the Note only.
        assert all(x["object"].get("type") == "Note" for x in received() if x["type"] == "Create")
        notes = [d for d in deliveries(b, "Create", uri) if d["object"]["type"] == "Note"]
        assert [d["_inbox"] for d in notes] == [f"{mastodon.url}/inbox"]

        assert carol.post(f"/api/rooms/{room['id']}/end").status_code == 200
        delete = eventually(lambda: next((x for x in received() if x["type"] == "Delete"), None))
        assert delete["object"]["id"] == note["id"] and delete["actor"] == b.actor("carol")
        assert not [x for x in received() if x["type"] == "Update"]
        eventually(lambda: card(a, ann, uri) is None)

        # A room that is not open is announced to the host's followers only.
        social = carol.open_room("Among friends", visibility="social")
        social_url = f"{b.url}/rooms/{social['id']}"
        private = eventually(
            lambda: next(
                (x["object"] for x in received() if x["object"].get("url") == social_url), None
            )
        )
        assert private["to"] == [f"{b.actor('carol')}/followers"] and private["cc"] == []
    finally:
        mastodon.stop()
