"""WebFinger, NodeInfo, host-meta, actor documents and content negotiation; keys:
RSA-2048, rotation with a grace period, and the Update that tells followers."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from salon.federation import signatures as sig
from salon.federation.cli import keys_group

from .helpers import Cluster, eventually, rows, signing_key
from .test_inbox_security import follow_from, signed


def test_webfinger_nodeinfo_host_meta_and_actor_documents(cluster: Cluster) -> None:
    b = cluster.start("B")
    b.signup("bob")
    with b.client() as client:
        r = client.get("/.well-known/webfinger", params={"resource": f"acct:bob@{b.host}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/jrd+json")
        jrd = r.json()
        assert jrd["subject"] == f"acct:bob@{b.host}"
        assert {"rel": "self", "type": "application/activity+json", "href": b.actor("bob")} in jrd[
            "links"
        ]
        assert (
            client.get("/.well-known/webfinger", params={"resource": b.actor("bob")}).json()[
                "subject"
            ]
            == jrd["subject"]
        )
        assert (
            client.get(
                "/.well-known/webfinger", params={"resource": "acct:bob@elsewhere.example"}
            ).status_code
            == 404
        )
        assert (
            client.get(
                "/.well-known/webfinger", params={"resource": f"acct:nobody@{b.host}"}
            ).status_code
            == 404
        )
        assert client.get("/.well-known/webfinger").status_code == 400

        links = client.get("/.well-known/nodeinfo").json()["links"]
        assert links == [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": f"{b.url}/nodeinfo/2.1",
            }
        ]
        info = client.get("/nodeinfo/2.1").json()
        assert info["version"] == "2.1" and info["software"]["name"] == "salon"
        assert info["protocols"] == ["activitypub"] and info["openRegistrations"] is True
        assert info["usage"]["users"]["total"] == 1

        xrd = client.get("/.well-known/host-meta")
        assert xrd.headers["content-type"].startswith("application/xrd+xml")
        assert f'template="{b.url}/.well-known/webfinger?resource={{uri}}"' in xrd.text

        # Content negotiation: HTML for browsers, the actor for ActivityPub.
        page = client.get("/users/bob", headers={"accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        r = client.get("/users/bob", headers={"accept": "application/activity+json"})
        assert r.headers["content-type"].startswith("application/activity+json")
        doc = r.json()
        for field in (
            "id",
            "type",
            "preferredUsername",
            "name",
            "summary",
            "inbox",
            "outbox",
            "followers",
            "following",
            "endpoints",
            "url",
            "publicKey",
        ):
            assert field in doc, field
        assert doc["type"] == "Person" and doc["endpoints"]["sharedInbox"] == f"{b.url}/inbox"
        assert doc["publicKey"]["owner"] == doc["id"] == b.actor("bob")
        key = load_pem_public_key(doc["publicKey"]["publicKeyPem"].encode())
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
        ld = client.get(
            "/users/bob",
            headers={
                "accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
            },
        )
        assert ld.json()["id"] == doc["id"]
        assert (
            client.get("/users/nobody", headers={"accept": "application/activity+json"}).status_code
            == 404
        )

        search = client.get("/federation/search", params={"q": f"@bob@{b.host}"})
        assert search.status_code == 200 and "/static/plugins/federation/search.js" in search.text
        assert client.get("/static/plugins/federation/search.js").status_code == 200
        instance = client.get("/actor").json()
        assert instance["type"] == "Application"
        assert (
            client.get(
                "/.well-known/webfinger", params={"resource": f"acct:instance.actor@{b.host}"}
            ).status_code
            == 200
        )
        followers = client.get("/users/bob/followers").json()
        assert followers["type"] == "OrderedCollection" and followers["totalItems"] == 0
    # Private keys never leave the database: nothing served carries one.
    assert "PRIVATE" not in json.dumps(doc) + json.dumps(instance)


def test_keys_rotate_keeps_the_old_key_for_a_grace_period(cluster: Cluster) -> None:
    a = cluster.start("A")
    b = cluster.start("B")
    ann, bob = a.signup("ann"), b.signup("bob")
    ann_key = signing_key(a, a.actor("ann"))
    assert bob.post("/api/federation/follows", {"actor": a.actor("ann")}).status_code == 202
    eventually(lambda: bob.get("/api/users/bob/following").json()["remote"])
    old_id, old_key = signing_key(a, a.actor("ann"))
    assert (old_id, old_key.private_numbers()) == (ann_key[0], ann_key[1].private_numbers())

    result = CliRunner().invoke(
        keys_group, ["rotate", "ann", "--config", str(cluster.config["A"][0])]
    )
    assert result.exit_code == 0, result.output
    assert "Update queued for 1 inboxes" in result.output
    new_id, new_key = signing_key(a, a.actor("ann"))
    assert new_id != old_id and new_id == f"{a.actor('ann')}#key-2"
    # B learns the new key through the Update...
    eventually(
        lambda: rows(b, "SELECT owner FROM federation_remote_key WHERE key_id = :k", k=new_id)
    )
    # ... and requests signed with either key verify at B (the old one stays cached
    # there); at A the old key is retired with an expiry at the end of the grace period.
    for key_id, key in ((new_id, new_key), (old_id, old_key)):
        headers, raw = signed(
            sig.CAVAGE, f"{b.url}/inbox", json.dumps(follow_from(a, b)).encode(), key_id, key
        )
        assert httpx.post(f"{b.url}/inbox", headers=headers, content=raw).status_code == 202
    assert rows(
        a,
        "SELECT key_id FROM federation_key WHERE retired_at IS NOT NULL AND expires_at IS NOT NULL",
    ) == [(old_id,)]
    # A publishes the retired key after the current one during the grace period, so a
    # server that never saw it (C) still verifies it.
    with a.client() as client:
        doc = client.get("/users/ann", headers={"accept": "application/activity+json"}).json()
    assert [k["id"] for k in doc["publicKey"]] == [new_id, old_id]
    c = cluster.start("C")
    c.signup("bob")
    headers, raw = signed(
        sig.RFC9421, f"{c.url}/inbox", json.dumps(follow_from(a, c)).encode(), old_id, old_key
    )
    assert httpx.post(f"{c.url}/inbox", headers=headers, content=raw).status_code == 202
    # New deliveries from A are signed with the new key.
    assert ann.patch("/api/me", {"bio": "rotated"}).status_code == 200
    eventually(
        lambda: (
            rows(b, "SELECT count(*) FROM federation_inbox_item WHERE body LIKE '%rotated%'")
            == [(1,)]
        )
    )


def test_salon_keys_and_federation_commands_are_offered_when_enabled(cluster: Cluster) -> None:
    b = cluster.start("B")
    config = str(cluster.config["B"][0])
    env = {"SALON_CONFIG": config, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "salon.core.cli", "federation", "queue"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "no pending or failed deliveries"
    b.signup("bob")
    result = CliRunner().invoke(keys_group, ["rotate", "--config", config])
    assert result.exit_code == 2 and "name a user" in result.output
    result = CliRunner().invoke(keys_group, ["rotate", "bob", "--instance", "--config", config])
    assert result.exit_code == 2
    result = CliRunner().invoke(keys_group, ["rotate", "--actor", "nothing", "--config", config])
    assert result.exit_code == 1 and "no plugin actor named 'nothing'" in result.output
    result = CliRunner().invoke(keys_group, ["rotate", "--instance", "--config", config])
    assert result.exit_code == 0 and "rotated instance.actor" in result.output
