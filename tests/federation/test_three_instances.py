"""Three real Salon instances talking over HTTP: a user on A follows a user on B and
a club on C; profile changes on B reach A; follow approval; unfollow."""

from __future__ import annotations

from typing import Any

from . import club_plugin
from .helpers import Cluster, eventually


def lookup(api: Any, query: str) -> dict[str, Any]:
    r = api.get("/api/federation/lookup", params={"q": query})
    assert r.status_code == 200, r.text
    return r.json()


def remote_names(server: Any, username: str, relation: str) -> list[str]:
    with server.client() as client:
        r = client.get(f"/api/users/{username}/{relation}")
    assert r.status_code == 200, r.text
    return [entry["username"] for entry in r.json()["remote"]]


def test_a_user_follows_a_user_and_a_club_across_instances(any_cluster: Cluster) -> None:
    a = any_cluster.start("A")
    b = any_cluster.start("B")
    c = any_cluster.start("C", extra_plugins=[("club", club_plugin)])
    ann, bob = a.signup("ann"), b.signup("bob")

    # Search @bob@B from A: WebFinger, then the actor document.
    found = lookup(ann, f"@bob@{b.host}")
    assert found["id"] == b.actor("bob")
    assert found["handle"] == f"bob@{b.host}"
    assert found["type"] == "Person" and found["follow_state"] is None

    r = ann.post("/api/federation/follows", {"actor": found["id"]})
    assert r.status_code == 202, r.text
    assert r.json() == {"state": "pending"}
    eventually(lambda: lookup(ann, f"@bob@{b.host}")["follow_state"] == "accepted")
    eventually(lambda: remote_names(b, "bob", "followers") == [f"ann@{a.host}"])
    assert remote_names(a, "ann", "following") == [f"bob@{b.host}"]
    with b.client() as client:
        profile = client.get("/api/users/bob").json()
    assert profile["followers_count"] == 1

    # The club on C is a Group actor published by a plugin.
    club = lookup(ann, f"@{club_plugin.CLUB}@{c.host}")
    assert club["type"] == "Group" and club["name"] == "Late Night Jazz"
    assert club["id"] == f"{c.url}/actors/{club_plugin.CLUB}"
    assert ann.post("/api/federation/follows", {"actor": club["id"]}).status_code == 202
    eventually(lambda: lookup(ann, club["id"])["follow_state"] == "accepted")

    def follows_seen() -> list[str]:
        received = club_plugin.received
        return [x["actor"] for x in received if x["type"] == "Follow" and x["object"] == club["id"]]

    # The club's plugin is handed the Follow (salon_activity_received).
    eventually(lambda: follows_seen() == [a.actor("ann")])
    with c.client() as client:
        r = client.get(f"/actors/{club_plugin.CLUB}/followers")
    assert r.json()["orderedItems"] == [a.actor("ann")]

    # A profile change on B travels to A as an Update.
    assert (
        bob.patch("/api/me", {"display_name": "Bob Bebop", "bio": "Late-night talk"}).status_code
        == 200
    )

    def bob_as_seen_from_a() -> dict[str, Any] | None:
        with a.client() as client:
            entries = client.get("/api/users/ann/following").json()["remote"]
        return next((e for e in entries if e["id"] == b.actor("bob")), None)

    eventually(lambda: (bob_as_seen_from_a() or {}).get("display_name") == "Bob Bebop")

    # Unfollow: B's list empties.
    r = ann.post("/api/federation/unfollow", {"actor": b.actor("bob")})
    assert r.status_code == 204, r.text
    eventually(lambda: remote_names(b, "bob", "followers") == [])
    assert lookup(ann, f"@bob@{b.host}")["follow_state"] is None


def test_a_creator_who_approves_followers_accepts_or_rejects(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ann, carl, bob = a.signup("ann"), a.signup("carl"), b.signup("bob")
    with a.client() as anonymous:  # only people with an account make A fetch elsewhere
        r = anonymous.get("/api/federation/lookup", params={"q": f"@bob@{b.host}"})
        assert r.status_code == 401
    r = bob.patch("/api/federation/preferences", {"manually_approves_followers": True})
    assert r.status_code == 200 and r.json() == {"manually_approves_followers": True}
    with b.client() as client:
        doc = client.get("/users/bob", headers={"accept": "application/activity+json"}).json()
    assert doc["manuallyApprovesFollowers"] is True

    for who in (ann, carl):
        assert who.post("/api/federation/follows", {"actor": b.actor("bob")}).status_code == 202

    def requests() -> list[dict[str, Any]]:
        return bob.get("/api/federation/requests").json()["requests"]

    pending = eventually(lambda: len(requests()) == 2 and requests())
    by_name = {p["actor"]["username"]: p["id"] for p in pending}
    assert (
        bob.post(f"/api/federation/requests/{by_name[f'ann@{a.host}']}/accept").status_code == 204
    )
    assert (
        bob.post(f"/api/federation/requests/{by_name[f'carl@{a.host}']}/reject").status_code == 204
    )
    assert (
        bob.post(f"/api/federation/requests/{by_name[f'carl@{a.host}']}/accept").status_code == 404
    )
    eventually(lambda: lookup(ann, b.actor("bob"))["follow_state"] == "accepted")
    eventually(lambda: lookup(carl, b.actor("bob"))["follow_state"] is None)
    assert remote_names(b, "bob", "followers") == [f"ann@{a.host}"]


def test_salon_federated_actor(cluster: Cluster) -> None:
    """A plugin's actor (``salon_federated_actor``): WebFinger finds it, its document
    is a Group with a key, users' names win over it, and unknown names are 404."""
    c = cluster.start("C", extra_plugins=[("club", club_plugin)])
    with c.client() as client:
        jrd = client.get(
            "/.well-known/webfinger", params={"resource": f"acct:{club_plugin.CLUB}@{c.host}"}
        ).json()
        uri = f"{c.url}/actors/{club_plugin.CLUB}"
        assert {"rel": "self", "type": "application/activity+json", "href": uri} in jrd["links"]
        doc = client.get(uri).json()
        assert doc["type"] == "Group" and doc["preferredUsername"] == club_plugin.CLUB
        assert doc["name"] == "Late Night Jazz" and doc["summary"] == "A club for jazz talk"
        assert doc["url"] == "http://club.invalid/jazzclub"
        assert doc["inbox"] == f"{uri}/inbox" and doc["publicKey"]["owner"] == uri
        assert client.get(f"{c.url}/actors/nothing").status_code == 404
    c.signup(club_plugin.CLUB)  # a user of that name now takes the handle
    with c.client() as client:
        jrd = client.get(
            "/.well-known/webfinger", params={"resource": f"acct:{club_plugin.CLUB}@{c.host}"}
        ).json()
    assert jrd["aliases"] == [c.actor(club_plugin.CLUB)]
