"""Joining a room on another server with a join grant (issue 9, parts 3 and 4).

A is alice's home, B hosts the rooms, C is an instance B blocks. The grant checks are
first tested as pure functions, then over HTTP between real instances: the happy
path, and each refusal on its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text

from salon.core.db import make_sync_engine
from salon.federation import grants
from salon.federation.grants import Grant, GrantRefused
from tests.conftest import postgres_schema
from tests.helpers import Api, LiveServer, assert_error

from .helpers import Cluster, eventually, rows, signing_key

# -- the claim checks, called directly ---------------------------------------------------

B = "http://b.example"
ALICE = "http://a.example/users/alice"
KID = f"{ALICE}#main-key"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def made(key: rsa.RSAPrivateKey, **overrides: Any) -> Grant:
    fields: dict[str, Any] = {
        "issuer": ALICE,
        "key_id": KID,
        "private_key": key,
        "audience": B,
        "room": f"{B}/rooms/7",
        "now": NOW,
    }
    fields.update(overrides)
    token, _ = grants.mint(**fields)
    return grants.read(token)


def refusal(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(GrantRefused) as caught:
        call(*args, **kwargs)
    return caught.value.status, caught.value.code


def check(grant: Grant, **kwargs: Any) -> int:
    return grants.check_claims(grant, base_url=B, now=kwargs.pop("now", NOW + 5), skew=30, **kwargs)


def test_a_minted_grant_reads_back_and_verifies(key: rsa.RSAPrivateKey) -> None:
    grant = made(key)
    header = jwt.get_unverified_header(grant.token)
    assert header == {"alg": "RS256", "kid": KID, "typ": "JWT"}
    assert (grant.iss, grant.aud, grant.room, grant.scope) == (
        ALICE,
        B,
        f"{B}/rooms/7",
        "room.join",
    )
    assert grant.exp - grant.iat == 60 and len(grant.jti) >= 16
    grants.verify_signature(grant, pem(key))
    grants.check_key_origin(grant)
    grants.check_key_owner(grant, ALICE)
    assert check(grant) == 7
    assert check(grant, expected_room=7) == 7
    assert made(key).jti != grant.jti


def test_another_key_does_not_verify(key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refusal(grants.verify_signature, made(key), pem(other)) == (401, "grant_bad_signature")
    # A grant whose payload was changed after signing fails the same way.
    head, _, signature = made(key).token.split(".")
    forged_body = made(key, room=f"{B}/rooms/8").token.split(".")[1]
    forged = grants.read(f"{head}.{forged_body}.{signature}")
    assert refusal(grants.verify_signature, forged, pem(key)) == (401, "grant_bad_signature")


def test_the_key_must_be_the_issuers(key: rsa.RSAPrivateKey) -> None:
    elsewhere = made(key, key_id="http://c.example/users/alice#main-key")
    assert refusal(grants.check_key_origin, elsewhere) == (401, "grant_wrong_key")
    bobs = made(key, key_id="http://a.example/users/bob#main-key")
    grants.check_key_origin(bobs)  # same server, but ...
    owner = "http://a.example/users/bob"
    assert refusal(grants.check_key_owner, bobs, owner) == (401, "grant_wrong_key")


def test_audience_room_and_scope(key: rsa.RSAPrivateKey) -> None:
    assert refusal(check, made(key, audience="http://c.example")) == (403, "grant_wrong_audience")
    assert refusal(check, made(key, audience=f"{B}/")) == (403, "grant_wrong_audience")
    for room in (
        "http://c.example/rooms/7",  # a room elsewhere
        f"{B}/rooms/7/ws",
        f"{B}/rooms/x",
        f"{B}/rooms/0",
        f"{B}/users/7",
        f"{B}.evil/rooms/7",
    ):
        assert refusal(check, made(key, room=room)) == (403, "grant_wrong_room"), room
    assert refusal(check, made(key), expected_room=8) == (403, "grant_wrong_room")
    assert refusal(check, made(key, scope="room.speak")) == (403, "grant_wrong_scope")


def test_times(key: rsa.RSAPrivateKey) -> None:
    grant = made(key)  # iat NOW, exp NOW + 60
    assert check(grant, now=NOW + 60 + 29) == 7  # within the skew after exp
    assert refusal(check, grant, now=NOW + 60 + 31) == (401, "grant_expired")
    assert check(grant, now=NOW - 29) == 7  # the issuer's clock a little ahead
    assert refusal(check, grant, now=NOW - 31) == (401, "grant_not_yet_valid")
    long = made(key, ttl_seconds=61)
    assert refusal(check, long) == (401, "grant_too_long")
    backwards = made(key, ttl_seconds=0)
    assert refusal(check, backwards) == (401, "grant_malformed_times")


def test_malformed_grants_are_400(key: rsa.RSAPrivateKey) -> None:
    def hs256(claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, "s" * 32, algorithm="HS256", headers=headers)

    full = {
        "iss": ALICE,
        "aud": B,
        "room": f"{B}/rooms/7",
        "scope": "room.join",
        "iat": NOW,
        "exp": NOW + 60,
        "jti": "abcdefgh12345678",
    }
    bad = [
        "",
        "not.a.jws",
        "x" * (grants.MAX_TOKEN_CHARS + 1),
        hs256(full, {"kid": KID}),  # not RS256 (the alg confusion attack)
        jwt.encode(full, key, algorithm="RS256"),  # no kid
        jwt.encode({**full, "iss": "mailto:alice"}, key, algorithm="RS256", headers={"kid": KID}),
        jwt.encode({**full, "jti": "short"}, key, algorithm="RS256", headers={"kid": KID}),
        jwt.encode({**full, "exp": "soon"}, key, algorithm="RS256", headers={"kid": KID}),
        jwt.encode({**full, "iat": True}, key, algorithm="RS256", headers={"kid": KID}),
        jwt.encode({**full, "room": 7}, key, algorithm="RS256", headers={"kid": KID}),
    ]
    for value in (float("nan"), float("inf")):  # json.loads reads NaN and Infinity
        bad.append(jwt.encode({**full, "iat": value}, key, algorithm="RS256", headers={"kid": KID}))
    for name in grants.CLAIMS:
        claims = {k: v for k, v in full.items() if k != name}
        bad.append(jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID}))
    for token in bad:
        assert refusal(grants.read, token) == (400, "grant_malformed"), token[:80]
    assert grants.read(jwt.encode(full, key, algorithm="RS256", headers={"kid": KID})).jti


def test_room_id_of() -> None:
    assert grants.room_id_of(f"{B}/rooms/12", B) == 12
    assert grants.room_id_of(f"{B}/rooms/12?x=1", B) is None
    assert grants.room_id_of("http://b.example.evil/rooms/12", B) is None
    assert grants.room_id_of(f"{B}/rooms/{2**31 - 1}", B) == 2**31 - 1
    assert grants.room_id_of(f"{B}/rooms/{2**31}", B) is None  # past any room id
    assert grants.room_id_of(f"{B}/rooms/{'9' * 19}", B) is None


# -- between real instances -------------------------------------------------------------


@dataclass
class Net:
    cluster: Cluster
    a: LiveServer
    b: LiveServer
    c: LiveServer
    carol: Api  # on B: hosts the rooms
    alice: Api  # on A


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def net(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """A, B (with moderation) and C, which B blocks, shared by this module's tests;
    each test opens its own rooms and, where it changes a person, its own people.
    On SQLite, and again on PostgreSQL when configured."""
    tmp: Path = tmp_path_factory.mktemp("grants")
    with ExitStack() as schemas:
        if request.param == "sqlite":
            cluster = Cluster(tmp, lambda name: f"sqlite:///{tmp / f'{name}.db'}")
        else:
            cluster = Cluster(
                tmp,
                lambda name: schemas.enter_context(postgres_schema(f"salon_grants_{name.lower()}")),
            )
        a = cluster.start("A")
        c = cluster.start("C")
        b = cluster.start("B", enabled=["moderation"], blocked_instances=[c.host])
        try:
            yield Net(cluster, a, b, c, b.signup("carol"), a.signup("alice"))
        finally:
            cluster.stop_all()


def room_uri(server: LiveServer, room: dict[str, Any]) -> str:
    return f"{server.url}/rooms/{room['id']}"


def take_grant(person: Api, room: str) -> dict[str, Any]:
    r = person.post("/api/federation/grants", {"room": room})
    assert r.status_code == 201, r.text
    return r.json()


def present(server: LiveServer, grant: str, **extra: Any) -> httpx.Response:
    with server.client() as client:
        return client.post("/api/federation/join", json={"grant": grant, **extra})


def hand_made(a: LiveServer, username: str, audience: str, room: str, **kw: Any) -> str:
    """A grant signed with USERNAME's real key on A, with claims chosen by the test."""
    key_id, private = signing_key(a, a.actor(username))
    token, _ = grants.mint(
        issuer=a.actor(username),
        key_id=key_id,
        private_key=private,
        audience=audience,
        room=room,
        **kw,
    )
    return token


def guest_id(b: LiveServer, a: LiveServer, username: str) -> int:
    ((found,),) = rows(b, 'SELECT id FROM "user" WHERE home = :h', h=a.actor(username))
    return found


def sql(server: LiveServer, statement: str, **params: Any) -> None:
    engine = make_sync_engine(server.app.state.settings.instance.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def test_alice_joins_a_room_on_b_with_a_grant_from_a(net: Net) -> None:
    a, b = net.a, net.b
    room = net.carol.open_room("Night owls")
    issued = take_grant(net.alice, room_uri(b, room))
    token = issued["grant"]
    assert issued["join_url"] == f"{b.url}/federation/join#grant={token}"
    assert issued["join_endpoint"] == f"{b.url}/api/federation/join"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == a.actor("alice") and claims["aud"] == b.url
    assert claims["room"] == room_uri(b, room) and claims["scope"] == "room.join"
    assert claims["exp"] - claims["iat"] == 60
    assert jwt.get_unverified_header(token)["kid"] == signing_key(a, a.actor("alice"))[0]

    with b.client() as browser:
        r = browser.post("/api/federation/join", json={"grant": token})
        assert r.status_code == 200, r.text
        joined = r.json()
        assert joined["user"]["username"] == f"alice@{a.host}"
        assert joined["user"]["home"] == a.actor("alice")
        assert joined["room_id"] == room["id"] and joined["room_url"] == f"/rooms/{room['id']}"
        # The session cookie is set too: the browser is alice, here.
        assert browser.get("/api/me").json()["username"] == f"alice@{a.host}"
        assert browser.get(f"/rooms/{room['id']}").status_code == 200

    guest = b.client(joined["token"])
    r = guest.post(f"/api/rooms/{room['id']}/join", json={})
    assert r.status_code == 200, r.text
    audience = [m["user"]["username"] for m in r.json()["audience"]]
    assert audience == [f"alice@{a.host}"]


def test_the_join_pages(net: Net) -> None:
    room = net.carol.open_room("Pages")
    with net.a.client() as anonymous:
        r = anonymous.get("/federation/join-remote", params={"room": room_uri(net.b, room)})
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = net.alice.get("/federation/join-remote", params={"room": room_uri(net.b, room)})
    assert r.status_code == 200 and "join_remote.js" in r.text and net.b.host in r.text
    with net.b.client() as browser:
        r = browser.get("/federation/join")
        assert r.status_code == 200 and "join.js" in r.text
        assert r.headers["referrer-policy"] == "no-referrer"
        assert browser.get("/static/plugins/federation/join.js").status_code == 200


def test_a_refuses_grants_it_should_not_give(net: Net) -> None:
    alice = net.alice
    r = alice.post("/api/federation/grants", {"room": f"{net.a.url}/rooms/1"})
    assert_error(r, 422, "room_is_local", "room")
    r = alice.post("/api/federation/grants", {"room": "ftp://b.example/rooms/1"})
    assert_error(r, 422, "invalid", "room")
    with net.a.client() as anonymous:
        r = anonymous.post("/api/federation/grants", json={"room": f"{net.b.url}/rooms/1"})
        assert_error(r, 401)


def test_an_expired_grant(net: Net) -> None:
    room = net.carol.open_room()
    token = hand_made(
        net.a, "alice", net.b.url, room_uri(net.b, room), now=time.time() - 200, ttl_seconds=60
    )
    assert_error(present(net.b, token), 401, "grant_expired", "grant")


def test_a_grant_for_another_room(net: Net) -> None:
    room, other = net.carol.open_room("Mine"), net.carol.open_room("Other")
    token = take_grant(net.alice, room_uri(net.b, room))["grant"]
    # The client means to enter OTHER: the grant is not for it.
    assert_error(present(net.b, token, room=other["id"]), 403, "grant_wrong_room", "grant")
    # A grant naming a room of another server, though addressed to B.
    elsewhere = hand_made(net.a, "alice", net.b.url, f"{net.c.url}/rooms/{room['id']}")
    assert_error(present(net.b, elsewhere), 403, "grant_wrong_room")
    # A room of B that does not exist.
    missing = hand_made(net.a, "alice", net.b.url, f"{net.b.url}/rooms/{2**31 - 1}")
    assert_error(present(net.b, missing), 404, "grant_unknown_room")


def test_a_grant_for_another_audience(net: Net) -> None:
    room = net.carol.open_room()
    # A real grant from A, for a room on C: B is not its audience.
    token = take_grant(net.alice, f"{net.c.url}/rooms/{room['id']}")["grant"]
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == net.c.url
    assert_error(present(net.b, token), 403, "grant_wrong_audience", "grant")


def test_a_replayed_grant(net: Net) -> None:
    room = net.carol.open_room()
    token = take_grant(net.alice, room_uri(net.b, room))["grant"]
    assert present(net.b, token).status_code == 200
    assert_error(present(net.b, token), 409, "grant_replayed", "grant")
    (count,) = rows(net.b, "SELECT count(*) FROM federation_grant_use")[0]
    assert count >= 1


def test_a_grant_signed_with_the_wrong_key(net: Net) -> None:
    a, b = net.a, net.b
    room = net.carol.open_room()
    a.signup("mallory")
    # Signed by mallory's key (a real key on A) but claiming to be alice.
    mallory_kid, mallory_key = signing_key(a, a.actor("mallory"))
    token, _ = grants.mint(
        issuer=a.actor("alice"),
        key_id=mallory_kid,
        private_key=mallory_key,
        audience=b.url,
        room=room_uri(b, room),
    )
    assert_error(present(b, token), 401, "grant_wrong_key", "grant")
    # Naming alice's key, but signed with a key that is not hers.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    alice_kid, _ = signing_key(a, a.actor("alice"))
    token, _ = grants.mint(
        issuer=a.actor("alice"),
        key_id=alice_kid,
        private_key=stranger,
        audience=b.url,
        room=room_uri(b, room),
    )
    assert_error(present(b, token), 401, "grant_bad_signature", "grant")
    # A key on another server than the issuer's.
    token, _ = grants.mint(
        issuer=a.actor("alice"),
        key_id=f"{net.c.url}/users/alice#main-key",
        private_key=stranger,
        audience=b.url,
        room=room_uri(b, room),
    )
    assert_error(present(b, token), 401, "grant_wrong_key")


def test_a_grant_from_a_blocked_instance(net: Net) -> None:
    c, b = net.c, net.b
    room = net.carol.open_room()
    trudy = c.signup("trudy")
    token = take_grant(trudy, room_uri(b, room))["grant"]
    assert_error(present(b, token), 403, "instance_blocked", "grant")
    # Refused before B fetched anything from C: no actor, no key of C's is known.
    assert rows(b, "SELECT uri FROM federation_remote_actor WHERE host = :h", h=c.host) == []
    assert (
        rows(b, "SELECT key_id FROM federation_remote_key WHERE owner LIKE :o", o=f"{c.url}%") == []
    )
    assert rows(b, 'SELECT id FROM "user" WHERE home LIKE :o', o=f"{c.url}%") == []
    # Nor does B give its own people grants for rooms on C.
    r = net.carol.post("/api/federation/grants", {"room": f"{c.url}/rooms/1"})
    assert_error(r, 403, "instance_blocked", "room")


def moderate(carol: Api, room_id: int, action: str, body: dict[str, Any]) -> dict[str, Any]:
    r = carol.post(f"/api/rooms/{room_id}/{action}", body)
    assert r.status_code == 200, r.text
    return r.json()


def test_moderators_on_b_handle_a_guest_like_a_local_one(net: Net) -> None:
    """Mute, move to audience, remove: the core's room endpoints, and a removal holds
    for later grants."""
    a, b, carol = net.a, net.b, net.carol
    dora = a.signup("dora")
    room = carol.open_room("Moderated")
    rid = room["id"]
    joined = present(b, take_grant(dora, room_uri(b, room))["grant"])
    assert joined.status_code == 200, joined.text
    guest = b.client(joined.json()["token"])
    gid = joined.json()["user"]["id"]
    assert guest.post(f"/api/rooms/{rid}/join", json={}).status_code == 200
    assert guest.post(f"/api/rooms/{rid}/hand", json={}).status_code == 200
    moderate(carol, rid, "invite-to-speak", {"user_id": gid})
    assert guest.post(f"/api/rooms/{rid}/invitation/accept", json={}).status_code == 200
    state = moderate(carol, rid, "mute", {"user_id": gid, "muted": True})
    (on_stage,) = [m for m in state["stage"] if m["user_id"] == gid]
    assert on_stage["muted_by_moderator"] is True
    state = moderate(carol, rid, "move-to-audience", {"user_id": gid})
    assert gid in [m["user_id"] for m in state["audience"]]
    state = moderate(carol, rid, "remove", {"user_id": gid})
    assert gid not in [m["user_id"] for m in state["audience"] + state["stage"]]

    # Her guest session cannot bring her back; nor can a fresh grant.
    assert_error(guest.post(f"/api/rooms/{rid}/join", json={}), 403)
    r = present(b, take_grant(dora, room_uri(b, room))["grant"])
    assert_error(r, 403, "removed", "grant")
    # Other rooms on B still admit her.
    other = carol.open_room("Elsewhere")
    assert present(b, take_grant(dora, room_uri(b, other))["grant"]).status_code == 200


def test_a_banned_guest(net: Net) -> None:
    """A suspension on B of ``bert…@A`` ends his guest session and refuses later grants.
    His handle there is longer than a local username may be."""
    a, b, carol = net.a, net.b, net.carol
    name = "bert_with_a_thirty_char_name_x"
    bert = a.signup(name)
    room = carol.open_room("Before the ban")
    joined = present(b, take_grant(bert, room_uri(b, room))["grant"])
    assert joined.status_code == 200, joined.text
    guest = b.client(joined.json()["token"])
    assert guest.post(f"/api/rooms/{room['id']}/join", json={}).status_code == 200

    admin = b.signup("boss")
    sql(b, 'UPDATE "user" SET is_admin = :yes WHERE username = :n', yes=True, n="boss")
    handle = f"{name}@{a.host}"
    assert len(handle) > 30
    r = admin.post("/api/moderation/suspensions", {"username": handle, "reason": "spam"})
    assert r.status_code == 201, r.text
    assert_error(guest.get("/api/me"), 401, "sign_in_refused")
    state = carol.get(f"/api/rooms/{room['id']}").json()
    assert joined.json()["user"]["id"] not in [m["user_id"] for m in state["audience"]]

    r = present(b, take_grant(bert, room_uri(b, carol.open_room("After")))["grant"])
    assert_error(r, 403, "sign_in_refused", "grant")


def test_a_social_room_admits_followers_of_its_speakers(net: Net) -> None:
    a, b, carol = net.a, net.b, net.carol
    fan, stranger = a.signup("fan"), a.signup("stranger")
    r = fan.post("/api/federation/follows", {"actor": b.actor("carol")})
    assert r.status_code == 202, r.text
    eventually(
        lambda: rows(
            b,
            "SELECT id FROM federation_follow WHERE remote_actor = :r AND state = 'accepted'",
            r=a.actor("fan"),
        )
    )
    room = carol.open_room("Friends only", visibility="social")
    r = present(b, take_grant(stranger, room_uri(b, room))["grant"])
    assert_error(r, 403, "forbidden", "grant")
    r = present(b, take_grant(fan, room_uri(b, room))["grant"])
    assert r.status_code == 200, r.text
    guest = b.client(r.json()["token"])
    assert guest.post(f"/api/rooms/{room['id']}/join", json={}).status_code == 200


def test_a_closed_room_admits_a_remote_guest_once_invited(net: Net) -> None:
    a, b, carol = net.a, net.b, net.carol
    erin = a.signup("erin")
    room = carol.open_room("By invitation", visibility="closed")
    r = present(b, take_grant(erin, room_uri(b, room))["grant"])
    assert_error(r, 403, "forbidden", "grant")

    r = carol.post("/api/federation/guests", {"handle": f"@erin@{a.host}"})
    assert r.status_code == 200, r.text
    account = r.json()
    assert account["username"] == f"erin@{a.host}" and account["home"] == a.actor("erin")
    r = carol.post(f"/api/rooms/{room['id']}/guests", {"user_id": account["id"]})
    assert r.status_code == 200, r.text

    r = present(b, take_grant(erin, room_uri(b, room))["grant"])
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == account["id"]
    assert guest_id(b, a, "erin") == account["id"]
    guest = b.client(r.json()["token"])
    assert guest.post(f"/api/rooms/{room['id']}/join", json={}).status_code == 200
    # Unknown people and blocked instances are 4xx, not a 500.
    r = carol.post("/api/federation/guests", {"handle": f"@nobody@{a.host}"})
    assert_error(r, 404, field="handle")


def test_an_ended_room(net: Net) -> None:
    room = net.carol.open_room("Short")
    token = take_grant(net.alice, room_uri(net.b, room))["grant"]
    assert net.carol.post(f"/api/rooms/{room['id']}/end", {}).status_code == 200
    assert_error(present(net.b, token), 409, "room_ended", "grant")


def test_the_join_links_come_from_the_room_object_on_its_own_origin(net: Net) -> None:
    """A uses the ``joinPage``/``joinEndpoint`` the room's object gave, but never a
    link to another origin than the room's (the grant would go to a third party)."""
    a, b = net.a, net.b
    insert = (
        "INSERT INTO federation_remote_room "
        "(object_id, host, state, visibility, people, card, refreshed_at) "
        "VALUES (:id, :host, 'live', 'open', '[]', :card, :now)"
    )
    own = f"{b.url}/rooms/4242"
    card = {"join_page": f"{b.url}/enter", "join_endpoint": f"{b.url}/api/enter"}
    sql(a, insert, id=own, host=b.host, card=json.dumps(card), now=datetime.now(UTC))
    issued = take_grant(net.alice, own)
    assert issued["join_url"] == f"{b.url}/enter#grant={issued['grant']}"
    assert issued["join_endpoint"] == f"{b.url}/api/enter"

    foreign = f"{b.url}/rooms/4243"
    card = {"join_page": f"{net.c.url}/steal", "join_endpoint": f"{net.c.url}/api/steal"}
    sql(a, insert, id=foreign, host=b.host, card=json.dumps(card), now=datetime.now(UTC))
    issued = take_grant(net.alice, foreign)
    assert issued["join_url"] == f"{b.url}/federation/join#grant={issued['grant']}"
    assert issued["join_endpoint"] == f"{b.url}/api/federation/join"


def test_other_refusals_each_with_its_code(net: Net) -> None:
    a, b = net.a, net.b
    uri = room_uri(b, net.carol.open_room())
    assert_error(present(b, "not a grant"), 400, "grant_malformed", "grant")
    token = hand_made(a, "alice", b.url, uri, scope="room.speak")
    assert_error(present(b, token), 403, "grant_wrong_scope", "grant")
    token = hand_made(a, "alice", b.url, uri, ttl_seconds=3600)
    assert_error(present(b, token), 401, "grant_too_long", "grant")
    token = hand_made(a, "alice", b.url, uri, now=time.time() + 600)
    assert_error(present(b, token), 401, "grant_not_yet_valid", "grant")
    # A key A does not publish (nobody has that name there).
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token, _ = grants.mint(
        issuer=a.actor("nobody"),
        key_id=f"{a.actor('nobody')}#main-key",
        private_key=stranger,
        audience=b.url,
        room=uri,
    )
    assert_error(present(b, token), 401, "grant_key_unavailable", "grant")
    # B's own people sign in on B; a grant of theirs is not a way in.
    token = hand_made(b, "carol", b.url, uri)
    assert_error(present(b, token), 403, "grant_local_issuer", "grant")
    # A body that is not what the endpoint takes.
    with b.client() as client:
        assert_error(client.post("/api/federation/join", json={}), 422, field="grant")
        r = client.post("/api/federation/join", json={"grant": token, "extra": 1})
        assert_error(r, 422)
