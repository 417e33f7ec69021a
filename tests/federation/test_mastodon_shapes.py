"""Mastodon-shaped inputs: a peer on 127.0.0.1 that answers WebFinger and serves an
actor document the way Mastodon does, signs its Follow with draft-cavage as Mastodon
does, and refuses RFC 9421 signatures (so Salon falls back to draft-cavage for it,
and remembers). Salon's cavage signatures are checked here by rebuilding the signing
string by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers import LiveServer

from .helpers import Cluster, eventually, rows


class Mastodonish:
    """A peer shaped like a Mastodon server, with one account, alice."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.inbox: list[tuple[dict[str, str], bytes]] = []
        self.rfc9421_refused = 0
        self.forged_owner = ""
        self.actor_failures = 0  # answer 503 to this many actor fetches first
        self.app = Starlette(
            routes=[
                Route("/.well-known/webfinger", self.webfinger),
                Route("/users/alice", self.actor),
                Route("/keys/odd", self.odd_key),
                Route("/inbox", self.receive, methods=["POST"]),
                Route("/users/alice/inbox", self.receive, methods=["POST"]),
            ]
        )
        self.server = LiveServer(self.app).start()
        self.url = self.server.url
        self.host = f"127.0.0.1:{self.server.port}"
        self.alice = f"{self.url}/users/alice"

    async def webfinger(self, request: Request) -> Response:
        if request.query_params.get("resource") != f"acct:alice@{self.host}":
            return Response(status_code=404)
        return JSONResponse(
            {
                "subject": f"acct:alice@{self.host}",
                "aliases": [f"{self.url}/@alice", self.alice],
                "links": [
                    {
                        "rel": "http://webfinger.net/rel/profile-page",
                        "type": "text/html",
                        "href": f"{self.url}/@alice",
                    },
                    {"rel": "self", "type": "application/activity+json", "href": self.alice},
                    {
                        "rel": "http://ostatus.org/schema/1.0/subscribe",
                        "template": f"{self.url}/authorize_interaction?uri={{uri}}",
                    },
                ],
            },
            media_type="application/jrd+json; charset=utf-8",
        )

    async def actor(self, request: Request) -> Response:
        if self.actor_failures:
            self.actor_failures -= 1
            return Response("busy", status_code=503)
        doc = {
            "@context": [
                "https://www.w3.org/ns/activitystreams",
                "https://w3id.org/security/v1",
                {
                    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                    "toot": "http://joinmastodon.org/ns#",
                    "featured": {"@id": "toot:featured", "@type": "@id"},
                    "discoverable": "toot:discoverable",
                    "indexable": "toot:indexable",
                    "PropertyValue": "schema:PropertyValue",
                    "schema": "http://schema.org#",
                    "value": "schema:value",
                },
            ],
            "id": self.alice,
            "type": "Person",
            "following": f"{self.alice}/following",
            "followers": f"{self.alice}/followers",
            "inbox": f"{self.alice}/inbox",
            "outbox": f"{self.alice}/outbox",
            "featured": f"{self.alice}/collections/featured",
            "preferredUsername": "alice",
            "name": "Alice :verified:",
            "summary": '<p>Radio host. <a href="https://example.org">example.org</a></p>',
            "url": f"{self.url}/@alice",
            "manuallyApprovesFollowers": False,
            "discoverable": True,
            "indexable": False,
            "published": "2022-11-05T00:00:00Z",
            "memorial": False,
            "publicKey": {
                "id": f"{self.alice}#main-key",
                "owner": self.alice,
                "publicKeyPem": self.public_pem,
            },
            "tag": [],
            "attachment": [{"type": "PropertyValue", "name": "Site", "value": "<a>x</a>"}],
            "endpoints": {"sharedInbox": f"{self.url}/inbox"},
            "icon": {"type": "Image", "mediaType": "image/png", "url": f"{self.url}/a.png"},
        }
        return JSONResponse(doc, media_type="application/activity+json; charset=utf-8")

    async def odd_key(self, request: Request) -> Response:
        """A key document on this origin naming an owner on another origin."""
        return JSONResponse(
            {
                "id": f"{self.url}/keys/odd",
                "owner": self.forged_owner or self.alice,
                "publicKeyPem": self.public_pem,
            },
            media_type="application/activity+json",
        )

    async def receive(self, request: Request) -> Response:
        if "signature-input" in request.headers:
            self.rfc9421_refused += 1
            return JSONResponse({"error": "Verification failed"}, status_code=401)
        self.inbox.append((dict(request.headers), await request.body()))
        return Response(status_code=202)

    def cavage_post(
        self, url: str, activity: dict[str, Any], key_id: str | None = None
    ) -> httpx.Response:
        """POST ACTIVITY as Mastodon signs it: (request-target) host date digest
        content-type, rsa-sha256."""
        body = json.dumps(activity).encode()
        target = httpx.URL(url)
        date = format_datetime(datetime.now(UTC), usegmt=True)
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        content_type = "application/activity+json"
        text = (
            f"(request-target): post {target.raw_path.decode()}\n"
            f"host: {target.netloc.decode()}\n"
            f"date: {date}\n"
            f"digest: {digest}\n"
            f"content-type: {content_type}"
        )
        signature = base64.b64encode(
            self.key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        ).decode()
        header = (
            f'keyId="{key_id or self.alice + "#main-key"}",algorithm="rsa-sha256",'
            f'headers="(request-target) host date digest content-type",signature="{signature}"'
        )
        return httpx.post(
            url,
            content=body,
            headers={
                "Host": target.netloc.decode(),
                "Date": date,
                "Digest": digest,
                "Content-Type": content_type,
                "Signature": header,
                "User-Agent": "http.rb/5.1.1 (Mastodon/4.3.0; +https://mastodon.example/)",
            },
        )

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def mastodon():
    peer = Mastodonish()
    yield peer
    peer.stop()


def check_cavage(headers: dict[str, str], body: bytes, inbox_path: str, key_pem: str) -> None:
    """Verify a Salon delivery the draft's way, by hand."""
    params = dict(part.split("=", 1) for part in headers["signature"].split(","))
    params = {k: v.strip('"') for k, v in params.items()}
    assert params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) host date digest"
    assert (
        headers["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    )
    text = (
        f"(request-target): post {inbox_path}\nhost: {headers['host']}\n"
        f"date: {headers['date']}\ndigest: {headers['digest']}"
    )
    key = serialization.load_pem_public_key(key_pem.encode())
    key.verify(
        base64.b64decode(params["signature"]), text.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_mastodon_follows_a_salon_user(cluster: Cluster, mastodon: Mastodonish) -> None:
    b = cluster.start("B")
    bob = b.signup("bob")
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mastodon.url}/{uuid.uuid4()}",
        "type": "Follow",
        "actor": mastodon.alice,
        "object": b.actor("bob"),
    }
    r = mastodon.cavage_post(f"{b.url}/users/bob/inbox", follow)
    assert r.status_code == 202, r.text
    eventually(
        lambda: (
            [e["username"] for e in bob.get("/api/users/bob/followers").json()["remote"]]
            == [f"alice@{mastodon.host}"]
        )
    )
    # Salon answered with an Accept: RFC 9421 first, refused, then draft-cavage.
    eventually(lambda: len(mastodon.inbox) == 1)
    headers, body = mastodon.inbox[0]
    accept = json.loads(body)
    assert accept["type"] == "Accept" and accept["object"]["id"] == follow["id"]
    assert accept["actor"] == b.actor("bob")
    with b.client() as client:
        doc = client.get("/users/bob", headers={"accept": "application/activity+json"}).json()
    assert params_key_id(headers) == doc["publicKey"]["id"]
    check_cavage(headers, body, "/users/alice/inbox", doc["publicKey"]["publicKeyPem"])
    assert mastodon.rfc9421_refused == 1
    scheme = "SELECT signature_scheme FROM federation_host WHERE host = :h"
    eventually(lambda: rows(b, scheme, h=mastodon.host) == [("cavage",)])

    # Remembered: bob's profile change goes out in draft-cavage straight away.
    assert bob.patch("/api/me", {"bio": "Now on the radio too"}).status_code == 200
    eventually(lambda: len(mastodon.inbox) == 2)
    headers, body = mastodon.inbox[1]
    assert json.loads(body)["type"] == "Update"
    check_cavage(headers, body, "/inbox", doc["publicKey"]["publicKeyPem"])  # the shared inbox
    assert mastodon.rfc9421_refused == 1


def test_a_deleted_mastodon_account_is_forgotten(cluster: Cluster, mastodon: Mastodonish) -> None:
    b = cluster.start("B")
    bob = b.signup("bob")
    follow = {
        "id": f"{mastodon.url}/{uuid.uuid4()}",
        "type": "Follow",
        "actor": mastodon.alice,
        "object": b.actor("bob"),
    }
    assert mastodon.cavage_post(f"{b.url}/users/bob/inbox", follow).status_code == 202
    eventually(lambda: bob.get("/api/users/bob/followers").json()["remote"])
    delete = {  # Mastodon's account deletion
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mastodon.alice}#delete",
        "type": "Delete",
        "actor": mastodon.alice,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": mastodon.alice,
    }
    assert mastodon.cavage_post(f"{b.url}/inbox", delete).status_code == 202
    eventually(lambda: bob.get("/api/users/bob/followers").json()["remote"] == [])
    assert rows(b, "SELECT count(*) FROM federation_remote_actor") == [(0,)]


def test_an_activity_that_needs_an_unanswering_server_is_applied_later(
    cluster: Cluster, mastodon: Mastodonish
) -> None:
    """The Follow verifies with a key document, but alice's actor (needed to answer)
    cannot be fetched at first: the stored Follow is applied on a later try."""
    b = cluster.start("B")
    bob = b.signup("bob")
    mastodon.actor_failures = 2
    follow = {
        "id": f"{mastodon.url}/{uuid.uuid4()}",
        "type": "Follow",
        "actor": mastodon.alice,
        "object": b.actor("bob"),
    }
    r = mastodon.cavage_post(f"{b.url}/inbox", follow, key_id=f"{mastodon.url}/keys/odd")
    assert r.status_code == 202, r.text
    eventually(lambda: bob.get("/api/users/bob/followers").json()["remote"])
    items = "SELECT state, attempts FROM federation_inbox_item"
    eventually(lambda: rows(b, items) == [("processed", 3)])
    assert mastodon.actor_failures == 0


def params_key_id(headers: dict[str, str]) -> str:
    return headers["signature"].split('keyId="', 1)[1].split('"', 1)[0]


def test_a_salon_user_finds_and_follows_a_mastodon_account(
    cluster: Cluster, mastodon: Mastodonish
) -> None:
    b = cluster.start("B")
    bob = b.signup("bob")
    r = bob.get("/api/federation/lookup", params={"q": f"@alice@{mastodon.host}"})
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["id"] == mastodon.alice and found["handle"] == f"alice@{mastodon.host}"
    assert found["url"] == f"{mastodon.url}/@alice" and "Radio host" in found["summary"]
    assert bob.post("/api/federation/follows", {"actor": mastodon.alice}).status_code == 202
    eventually(lambda: any(json.loads(body)["type"] == "Follow" for _, body in mastodon.inbox))
    follow = next(
        json.loads(body) for _, body in mastodon.inbox if json.loads(body)["type"] == "Follow"
    )
    # Alice's server accepts, the Mastodon way (the Follow embedded).
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{mastodon.alice}#accepts/follows/1",
        "type": "Accept",
        "actor": mastodon.alice,
        "object": follow,
    }
    assert mastodon.cavage_post(f"{b.url}/inbox", accept).status_code == 202
    eventually(
        lambda: (
            bob.get("/api/federation/lookup", params={"q": mastodon.alice}).json()["follow_state"]
            == "accepted"
        )
    )


def test_a_key_whose_owner_is_on_another_origin_is_refused(
    cluster: Cluster, mastodon: Mastodonish
) -> None:
    """The peer serves a key document on its origin that names an owner on B's
    origin, and signs a Follow claiming to be that owner: refused (401)."""
    a = cluster.start("A")
    b = cluster.start("B")
    a.signup("ann")
    b.signup("bob")
    mastodon.forged_owner = a.actor("ann")
    follow = {
        "id": f"{a.url}/activities/{uuid.uuid4()}",
        "type": "Follow",
        "actor": a.actor("ann"),
        "object": b.actor("bob"),
    }
    r = mastodon.cavage_post(f"{b.url}/inbox", follow, key_id=f"{mastodon.url}/keys/odd")
    assert r.status_code == 401, r.text
    assert "origin" in r.json()["error"]["message"]


def test_salon_instances_that_refuse_rfc9421_fall_back(cluster: Cluster) -> None:
    """An instance set to take draft-cavage only: the other falls back, and remembers."""
    a = cluster.start("A")
    b = cluster.start("B", accept_rfc9421=False)
    ann = a.signup("ann")
    b.signup("bob")
    assert ann.post("/api/federation/follows", {"actor": b.actor("bob")}).status_code == 202
    eventually(
        lambda: (
            ann.get("/api/federation/lookup", params={"q": b.actor("bob")}).json()["follow_state"]
            == "accepted"
        )
    )
    scheme = "SELECT signature_scheme FROM federation_host WHERE host = :h"
    eventually(lambda: rows(a, scheme, h=b.host) == [("cavage",)])
    eventually(lambda: rows(b, scheme, h=a.host) == [("rfc9421",)])
