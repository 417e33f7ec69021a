"""Account deletion across two real instances: bob on B, followed by alice on A and
following carol on A, deletes his account; A receives one signed ``Delete`` at its
shared inbox and forgets him; B serves his actor as a 410 ``Tombstone``."""

from __future__ import annotations

from typing import Any

from tests.helpers import PASSWORD, assert_error

from .helpers import Cluster, eventually, rows
from .test_three_instances import lookup, remote_names

ACTIVITY = {"accept": "application/activity+json"}


def test_a_deleted_account_is_deleted_on_other_instances(any_cluster: Cluster) -> None:
    a = any_cluster.start("A")
    b = any_cluster.start("B")
    alice, carol, bob = a.signup("alice"), a.signup("carol"), b.signup("bob")

    bob_id = lookup(alice, f"@bob@{b.host}")["id"]
    assert alice.post("/api/federation/follows", {"actor": bob_id}).status_code == 202
    assert bob.post("/api/federation/follows", {"actor": a.actor("carol")}).status_code == 202
    eventually(lambda: remote_names(a, "alice", "following") == [f"bob@{b.host}"])
    eventually(lambda: remote_names(b, "bob", "following") == [f"carol@{a.host}"])
    eventually(lambda: remote_names(a, "carol", "followers") == [f"bob@{b.host}"])
    assert remote_names(b, "bob", "followers") == [f"alice@{a.host}"]
    assert carol.get("/api/me").status_code == 200

    r = bob.http.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert r.status_code == 204, r.text

    # B: one signed Delete of the actor, queued for A's shared inbox and delivered.
    def delete_delivered() -> list[Any]:
        return rows(
            b,
            "SELECT inbox, state FROM federation_delivery WHERE sender = :s AND body LIKE :d",
            s=b.actor("bob"),
            d='%"type":"Delete"%',
        )

    assert eventually(
        lambda: [tuple(x) for x in delete_delivered()] == [(f"{a.url}/inbox", "delivered")]
    )
    assert rows(b, "SELECT id FROM federation_follow") == []

    # A: bob is gone from alice's following and carol's followers.
    eventually(lambda: remote_names(a, "alice", "following") == [])
    eventually(lambda: remote_names(a, "carol", "followers") == [])
    with a.client() as client:
        assert client.get("/api/users/alice").json()["following_count"] == 0
    received = rows(a, "SELECT sender FROM federation_inbox_item WHERE body LIKE :d", d="%Delete%")
    assert [tuple(x) for x in received] == [(b.actor("bob"),)]

    # B serves the actor as a Tombstone (410) and WebFinger no longer knows the name.
    with b.client() as client:
        r = client.get("/users/bob", headers=ACTIVITY)
        assert r.status_code == 410, r.text
        assert r.headers["content-type"].startswith("application/activity+json")
        tomb = r.json()
        assert (tomb["id"], tomb["type"], tomb["formerType"]) == (
            b.actor("bob"),
            "Tombstone",
            "Person",
        )
        assert tomb["deleted"]
        r = client.get("/.well-known/webfinger", params={"resource": f"acct:bob@{b.host}"})
        assert_error(r, 404)
        assert client.get("/users/bob").status_code == 404  # the profile page
        assert_error(client.get("/api/users/bob"), 404, field="username")
        nodeinfo = client.get("/nodeinfo/2.1").json()
        assert nodeinfo["usage"]["users"]["total"] == 0

    # A later lookup from A fails cleanly, by handle and by URL.
    assert_error(
        alice.get("/api/federation/lookup", params={"q": f"@bob@{b.host}"}), 404, field="q"
    )
    assert_error(alice.get("/api/federation/lookup", params={"q": bob_id}), 404, field="q")
    # And following him again is refused without a server error.
    r = alice.post("/api/federation/follows", {"actor": bob_id})
    assert 400 <= r.status_code < 500, r.text
