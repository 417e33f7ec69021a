"""What an inbox refuses, and with which status: a tampered body, a wrong key, a
replayed request, a stale date, a key id from another origin, a malformed or missing
signature, an oversized body; and what it accepts: each scheme, once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from salon.federation import signatures as sig

from .helpers import Cluster, Instance, eventually, rows, signing_key


def follow_from(a: Instance, b: Instance, actor: str | None = None) -> dict[str, Any]:
    actor = actor or a.actor("ann")
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.url}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor,
        "object": b.actor("bob"),
    }


def signed(
    scheme: str,
    url: str,
    body: bytes,
    key_id: str,
    key: Any,
    now: datetime | None = None,
) -> tuple[dict[str, str], bytes]:
    message = sig.Message.of("POST", url, [("Content-Type", "application/activity+json")], body)
    sig.sign(scheme, message, key_id, key, now=now)
    return dict(message.headers.items()), body


def post(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(url, headers=headers, content=body, timeout=10)


@pytest.fixture
def pair(cluster: Cluster) -> tuple[Instance, Instance]:
    a = cluster.start("A")
    b = cluster.start("B")
    a.signup("ann")
    b.signup("bob")
    return a, b


@pytest.mark.parametrize("scheme", sig.SCHEMES)
def test_each_refusal_has_its_status(pair: tuple[Instance, Instance], scheme: str) -> None:
    a, b = pair
    key_id, key = signing_key(a, a.actor("ann"))
    inbox = f"{b.url}/users/bob/inbox"

    def body() -> bytes:
        return json.dumps(follow_from(a, b)).encode()

    # A good one is accepted (202) and applied.
    headers, raw = signed(scheme, inbox, body(), key_id, key)
    assert post(inbox, headers, raw).status_code == 202
    # The same request again: a replay (401).
    r = post(inbox, headers, raw)
    assert r.status_code == 401 and "replay" in r.json()["error"]["message"]
    # A tampered body (401): the digest no longer matches.
    headers, raw = signed(scheme, inbox, body(), key_id, key)
    assert post(inbox, headers, raw.replace(b"Follow", b"Block!")).status_code == 401
    # A wrong key: signed by another key under ann's key id (401).
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers, raw = signed(scheme, inbox, body(), key_id, other)
    assert post(inbox, headers, raw).status_code == 401
    # A stale date: six minutes old, the window is five (401).
    stale = datetime.now(UTC) - timedelta(minutes=6)
    headers, raw = signed(scheme, inbox, body(), key_id, key, now=stale)
    r = post(inbox, headers, raw)
    assert r.status_code == 401, r.text
    # Signed for another inbox: the target differs (401).
    headers, raw = signed(scheme, f"{b.url}/inbox", body(), key_id, key)
    assert post(inbox, headers, raw).status_code == 401
    # A's key, but the activity claims an actor of another origin (401).
    c_actor = "http://127.0.0.2:9/users/mallory"
    forged = json.dumps(follow_from(a, b, actor=c_actor)).encode()
    headers, raw = signed(scheme, inbox, forged, key_id, key)
    assert post(inbox, headers, raw).status_code == 401
    # Exactly one follow came of all that.
    eventually(lambda: len(bob_followers(b)) == 1)


def bob_followers(b: Instance) -> list[str]:
    return [
        r[0]
        for r in rows(
            b,
            "SELECT remote_actor FROM federation_follow WHERE direction = 'in'",
        )
    ]


def test_malformed_missing_and_oversized(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    inbox = f"{b.url}/inbox"
    body = json.dumps(follow_from(a, b)).encode()
    r = post(inbox, {"content-type": "application/activity+json"}, body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "signature_rejected"
    r = post(inbox, {"signature": "this is not a signature"}, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_signature"
    r = post(inbox, {"signature-input": "sig1=(", "signature": "sig1=:AA==:"}, body)
    assert r.status_code == 400
    r = post(inbox, {"signature": 'keyId="x",signature="AAAA"'}, b"x" * 300_000)
    assert r.status_code == 413
    for key_id in ("x", "http://[::1", "http://127.0.0.1:99999/k", "ftp://a/b"):
        r = post(inbox, {"signature": f'keyId="{key_id}",signature="AAAA"'}, body)
        assert r.status_code == 401, (key_id, r.text)
    # A signed request whose body is not JSON: 400 (after the signature checks).
    key_id, key = signing_key(a, a.actor("ann"))
    headers, raw = signed(sig.CAVAGE, inbox, b"not json", key_id, key)
    r = post(inbox, headers, raw)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_activity"
    # An unknown actor's inbox: 404.
    assert post(f"{b.url}/users/nobody/inbox", {}, body).status_code == 404


def test_an_activity_is_stored_once_and_applied_once(pair: tuple[Instance, Instance]) -> None:
    """Two signed deliveries of the same activity (a sender's retry): both are
    answered 202, it is stored and processed once."""
    a, b = pair
    key_id, key = signing_key(a, a.actor("ann"))
    inbox = f"{b.url}/inbox"
    body = json.dumps(follow_from(a, b)).encode()
    for scheme in sig.SCHEMES:
        headers, raw = signed(scheme, inbox, body, key_id, key)
        assert post(inbox, headers, raw).status_code == 202
    eventually(lambda: rows(b, "SELECT state FROM federation_inbox_item") == [("processed",)])
    assert len(bob_followers(b)) == 1
