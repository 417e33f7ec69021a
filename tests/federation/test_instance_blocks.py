"""Instance blocks: through ``instance.federate`` (as moderation decides it), through
the config's ``blocked_instances``, and through ``salon federation block``."""

from __future__ import annotations

import json

import httpx
from click.testing import CliRunner

from salon.federation import signatures as sig
from salon.federation.cli import federation_group

from . import block_plugin
from .helpers import Cluster, eventually, rows, signing_key
from .test_inbox_security import follow_from, signed


def remote_followers(server, username: str) -> list[str]:
    with server.client() as client:
        return [
            e["username"] for e in client.get(f"/api/users/{username}/followers").json()["remote"]
        ]


def test_salon_instance_blocked(cluster: Cluster) -> None:
    """B blocks A the way moderation does (``instance.federate`` denied, then
    ``salon_instance_blocked``): follows both ways are severed, what B had queued for
    A is dropped, A's inbox requests get 403, and B delivers nothing more to A."""
    a = cluster.start("A")
    b = cluster.start("B", extra_plugins=[("blocker", block_plugin)])
    ann, bob = a.signup("ann"), b.signup("bob")
    assert ann.post("/api/federation/follows", {"actor": b.actor("bob")}).status_code == 202
    assert bob.post("/api/federation/follows", {"actor": a.actor("ann")}).status_code == 202
    eventually(lambda: remote_followers(b, "bob") == [f"ann@{a.host}"])
    eventually(lambda: remote_followers(a, "ann") == [f"bob@{b.host}"])

    # With A down, bob's profile edit queues an Update for A at B.
    cluster.stop("A")
    assert bob.patch("/api/me", {"bio": "offline for A"}).status_code == 200
    pending_for_a = "SELECT state FROM federation_delivery WHERE host = :h AND state = 'pending'"
    eventually(lambda: rows(b, pending_for_a, h=a.host))
    r = httpx.post(f"{b.url}/test/block-instance", json={"domain": a.host})
    assert r.status_code == 200
    a = cluster.restart("A")
    assert rows(b, pending_for_a, h=a.host) == []
    assert {
        s for (s,) in rows(b, "SELECT state FROM federation_delivery WHERE host = :h", h=a.host)
    } >= {"dropped"}
    assert remote_followers(b, "bob") == []
    assert rows(b, "SELECT * FROM federation_follow") == []

    # A's requests are refused at B's inbox with 403 ...
    key_id, key = signing_key(a, a.actor("ann"))
    headers, raw = signed(
        sig.CAVAGE, f"{b.url}/inbox", json.dumps(follow_from(a, b)).encode(), key_id, key
    )
    r = httpx.post(f"{b.url}/inbox", headers=headers, content=raw)
    assert r.status_code == 403 and r.json()["error"]["code"] == "instance_blocked"
    # ... and A's queued delivery to B ends as failed with that 403 (no retry).
    assert ann.post("/api/federation/unfollow", {"actor": b.actor("bob")}).status_code == 204
    eventually(
        lambda: (
            rows(
                a,
                "SELECT state, last_status FROM federation_delivery"
                " WHERE host = :h AND state != 'delivered'",
                h=b.host,
            )
            == [("failed", 403)]
        )
    )
    # B delivers nothing more to A: a new profile change queues nothing for A.
    before = rows(b, "SELECT count(*) FROM federation_delivery")
    assert bob.patch("/api/me", {"bio": "after the block"}).status_code == 200
    assert rows(b, "SELECT count(*) FROM federation_delivery") == before
    # And B will not look A up either.
    r = bob.get("/api/federation/lookup", params={"q": f"@ann@{a.host}"})
    assert r.status_code == 404 and "blocked" in r.json()["error"]["message"]


def test_blocked_instances_in_the_config(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B", blocked_instances=["127.0.0.1"])  # every port of that host
    a.signup("ann")
    b.signup("bob")
    key_id, key = signing_key(a, a.actor("ann"))
    headers, raw = signed(
        sig.RFC9421, f"{b.url}/inbox", json.dumps(follow_from(a, b)).encode(), key_id, key
    )
    r = httpx.post(f"{b.url}/inbox", headers=headers, content=raw)
    assert r.status_code == 403


def test_salon_federation_block_command(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ann = a.signup("ann")
    b.signup("bob")
    assert ann.post("/api/federation/follows", {"actor": b.actor("bob")}).status_code == 202
    eventually(lambda: remote_followers(b, "bob") == [f"ann@{a.host}"])
    config = str(cluster.config["B"][0])
    runner = CliRunner()
    result = runner.invoke(federation_group, ["block", a.host, "--config", config])
    assert result.exit_code == 0, result.output
    assert f"blocked {a.host}: 1 follows severed" in result.output
    assert remote_followers(b, "bob") == []
    key_id, key = signing_key(a, a.actor("ann"))
    headers, raw = signed(
        sig.CAVAGE, f"{b.url}/inbox", json.dumps(follow_from(a, b)).encode(), key_id, key
    )
    assert httpx.post(f"{b.url}/inbox", headers=headers, content=raw).status_code == 403
    result = runner.invoke(federation_group, ["blocks", "--config", config])
    assert f"{a.host}  (salon federation block)" in result.output
    result = runner.invoke(federation_group, ["unblock", a.host, "--config", config])
    assert result.exit_code == 0, result.output
    headers, raw = signed(
        sig.CAVAGE, f"{b.url}/inbox", json.dumps(follow_from(a, b)).encode(), key_id, key
    )
    assert httpx.post(f"{b.url}/inbox", headers=headers, content=raw).status_code == 202
