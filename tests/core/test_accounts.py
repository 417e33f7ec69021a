"""Accounts over real HTTP: sign-up in each registration mode, log in and out, the
session cookie, CSRF, API tokens and username rules."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from click.testing import CliRunner
from sqlmodel import select

from salon.core.auth import verify_password
from salon.core.cli import main as cli
from salon.core.db import sync_session
from salon.core.models import User
from tests.helpers import PASSWORD, Api, LiveServer, assert_error


def stored_user(server: LiveServer, username: str) -> dict[str, Any] | None:
    """The user's row as the database holds it, read outside the server."""
    with sync_session(server.settings.instance.database_url) as session:
        try:
            user = session.exec(select(User).where(User.username == username)).first()
            return None if user is None else user.model_dump()
        finally:
            session.get_bind().dispose()


def make_admin(server: LiveServer, username: str) -> None:
    """Promote an existing account, as an operator would, with a direct database update."""
    with sync_session(server.settings.instance.database_url) as session:
        try:
            user = session.exec(select(User).where(User.username == username)).one()
            user.is_admin = True
            session.add(user)
            session.commit()
        finally:
            session.get_bind().dispose()


def session_cookie_header(r: httpx.Response) -> str:
    headers = [h for h in r.headers.get_list("set-cookie") if h.startswith("salon_session=")]
    assert len(headers) == 1, r.headers.get_list("set-cookie")
    return headers[0]


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


# -- sign-up ------------------------------------------------------------------------


def test_open_signup_creates_the_account_and_signs_in(server: LiveServer) -> None:
    with server.client() as client:
        r = client.post(
            "/api/auth/signup",
            json={"username": "alice", "password": PASSWORD, "display_name": "Alice A."},
        )
        assert r.status_code == 201, r.text
        me = r.json()
        assert me == {
            "id": me["id"],
            "username": "alice",
            "display_name": "Alice A.",
            "bio": "",
            "is_admin": False,
        }
        assert isinstance(me["id"], int)
        # The answer signed the browser in: the cookie alone identifies the user.
        assert client.get("/api/me").json() == me
    with server.client() as client:
        r = client.post("/api/auth/signup", json={"username": "bob", "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert r.json()["display_name"] == "bob"  # defaults to the username
    with server.client() as anonymous:
        assert_error(anonymous.get("/api/me"), 401, "unauthenticated")


def test_passwords_are_stored_as_argon2_hashes(server: LiveServer) -> None:
    server.signup("alice")
    row = stored_user(server, "alice")
    assert row is not None
    assert row["password_hash"].startswith("$argon2")
    assert PASSWORD not in row["password_hash"]
    assert verify_password(row["password_hash"], PASSWORD)
    assert not verify_password(row["password_hash"], PASSWORD + "!")


def test_invite_registration_needs_a_single_use_code(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(instance={"registration": "invite"})
    with server.client() as anonymous:
        r = anonymous.post("/api/auth/signup", json={"username": "root", "password": PASSWORD})
        assert_error(r, 422, field="invite_code")
        r = anonymous.post(
            "/api/auth/signup",
            json={"username": "root", "password": PASSWORD, "invite_code": "made-up"},
        )
        assert_error(r, 422, field="invite_code")
        assert_error(anonymous.post("/api/invites", json={}), 401, "unauthenticated")
    assert stored_user(server, "root") is None

    # The first admin comes from the operator's command line.
    result = CliRunner().invoke(
        cli,
        ["user", "create", "root", "--admin", "--password", PASSWORD],
        env={"SALON_CONFIG": server.settings.source},
    )
    assert result.exit_code == 0, result.output
    with server.client() as client:
        r = client.post("/api/auth/token", json={"username": "root", "password": PASSWORD})
        assert r.status_code == 201, r.text
    token = r.json()["token"]
    with server.client(token) as client:
        me = client.get("/api/me").json()
    assert me["username"] == "root" and me["is_admin"] is True
    admin = Api(server, me, token)

    r = admin.post("/api/invites")
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert isinstance(code, str) and code
    other = admin.post("/api/invites").json()["code"]
    assert other != code

    dave = server.signup("dave", invite_code=code)
    assert dave.get("/api/me").json()["username"] == "dave"

    # Used once, the code is spent; the refused account does not exist.
    with server.client() as anonymous:
        r = anonymous.post(
            "/api/auth/signup", json={"username": "erin", "password": PASSWORD, "invite_code": code}
        )
        assert_error(r, 422, field="invite_code")
        r = anonymous.post("/api/auth/login", json={"username": "erin", "password": PASSWORD})
        assert_error(r, 401, "bad_credentials")
    assert stored_user(server, "erin") is None
    # The other code still works.
    assert server.signup("erin", invite_code=other).username == "erin"

    # Someone who is not an admin cannot make codes.
    r = dave.post("/api/invites")
    assert_error(r, 403, "forbidden")


def test_one_invite_code_cannot_be_spent_twice_at_once(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(instance={"registration": "invite"})
    server_admin = "boss"
    CliRunner().invoke(
        cli,
        ["user", "create", server_admin, "--admin", "--password", PASSWORD],
        env={"SALON_CONFIG": server.settings.source},
    )
    with server.client() as client:
        token = client.post(
            "/api/auth/token", json={"username": server_admin, "password": PASSWORD}
        ).json()["token"]
    with server.client(token) as client:
        code = client.post("/api/invites", json={}).json()["code"]
    names = [f"racer{i}" for i in range(6)]

    def sign_up(name: str) -> int:
        with server.client() as anonymous:
            body = {"username": name, "password": PASSWORD, "invite_code": code}
            return anonymous.post("/api/auth/signup", json=body).status_code

    with ThreadPoolExecutor(len(names)) as pool:
        statuses = list(pool.map(sign_up, names))
    assert sorted(statuses) == [201] + [422] * (len(names) - 1), statuses
    assert sum(stored_user(server, n) is not None for n in names) == 1


def test_admins_made_by_a_database_update_can_invite(server: LiveServer) -> None:
    alice = server.signup("alice")
    assert_error(alice.post("/api/invites"), 403, "forbidden")
    make_admin(server, "alice")
    assert alice.get("/api/me").json()["is_admin"] is True
    r = alice.post("/api/invites")
    assert r.status_code == 201, r.text
    assert r.json()["code"]


def test_closed_registration_refuses_sign_up(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(instance={"registration": "closed"})
    with server.client() as anonymous:
        r = anonymous.post("/api/auth/signup", json={"username": "alice", "password": PASSWORD})
        assert_error(r, 403, "registration_closed")
        assert "salon_session" not in anonymous.cookies
    assert stored_user(server, "alice") is None


# -- usernames and passwords -----------------------------------------------------------


def test_usernames_are_lowercased_and_unique(server: LiveServer) -> None:
    with server.client() as client:
        r = client.post("/api/auth/signup", json={"username": "Alice_1", "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert r.json()["username"] == "alice_1"
    for taken in ("alice_1", "ALICE_1", " alice_1 "):
        with server.client() as client:
            r = client.post("/api/auth/signup", json={"username": taken, "password": PASSWORD})
            assert_error(r, 409, "conflict", field="username")
    # Logging in ignores the case too.
    with server.client() as client:
        r = client.post("/api/auth/login", json={"username": "ALICE_1", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["username"] == "alice_1"


BAD_USERNAMES = ["a", "x" * 31, "bad name", "bad-name", "bad!", "émile", "dot.ted", "", "a\tb"]


def test_bad_usernames_are_refused_naming_the_field(server: LiveServer) -> None:
    for username in BAD_USERNAMES:
        with server.client() as client:
            r = client.post("/api/auth/signup", json={"username": username, "password": PASSWORD})
            assert_error(r, 422, field="username")
            assert "salon_session" not in client.cookies, username
    with server.client() as client:
        r = client.post("/api/auth/signup", json={"username": 42, "password": PASSWORD})
        assert_error(r, 422, field="username")


def test_short_passwords_are_refused_naming_the_field(server: LiveServer) -> None:
    with server.client() as client:
        r = client.post("/api/auth/signup", json={"username": "alice", "password": "short"})
        assert_error(r, 422, field="password")
    assert stored_user(server, "alice") is None


# -- log in, log out, the cookie -------------------------------------------------------------


def test_login_checks_the_password(server: LiveServer) -> None:
    server.signup("alice")
    with server.client() as client:
        r = client.post("/api/auth/login", json={"username": "alice", "password": "wrong one!"})
        wrong = assert_error(r, 401, "bad_credentials")
        r = client.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD})
        unknown = assert_error(r, 401, "bad_credentials")
        # Both refusals read the same: no telling which usernames exist.
        assert wrong["message"] == unknown["message"]
        assert "salon_session" not in client.cookies
        assert_error(client.get("/api/me"), 401)

        r = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert r.json()["username"] == "alice"
        assert client.get("/api/me").json()["username"] == "alice"


def test_session_cookie_is_httponly_and_samesite_lax(server: LiveServer) -> None:
    with server.client() as client:
        r = client.post("/api/auth/signup", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 201, r.text
        attributes = cookie_attributes(session_cookie_header(r))
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "secure" not in attributes  # cookie_secure is off by default (plain http)
    with server.client() as client:
        r = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
        attributes = cookie_attributes(session_cookie_header(r))
        assert {"httponly", "samesite=lax"} <= attributes


def test_secure_cookies_when_configured(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(instance={"cookie_secure": True})
    with server.client() as client:
        r = client.post("/api/auth/signup", json={"username": "alice", "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert {"httponly", "samesite=lax", "secure"} <= cookie_attributes(session_cookie_header(r))


def test_logout_ends_the_session_for_good(server: LiveServer) -> None:
    client = server.browser_session("alice")
    try:
        assert client.get("/api/me").status_code == 200
        stolen = client.cookies["salon_session"]
        r = client.post("/api/auth/logout", json={})
        assert r.status_code == 204, r.text
        assert_error(client.get("/api/me"), 401, "unauthenticated")
    finally:
        client.close()
    # The old cookie, replayed, no longer signs anyone in: the credential is gone.
    with server.client() as replay:
        replay.cookies.set("salon_session", stolen)
        assert_error(replay.get("/api/me"), 401, "unauthenticated")


def test_logout_with_a_bearer_token_revokes_it(server: LiveServer) -> None:
    alice = server.signup("alice")
    assert alice.get("/api/me").status_code == 200
    assert alice.post("/api/auth/logout").status_code == 204
    assert_error(alice.get("/api/me"), 401, "unauthenticated")
    assert_error(alice.post("/api/auth/logout"), 401, "unauthenticated")


# -- CSRF ----------------------------------------------------------------------------------


def test_cookie_writes_need_the_csrf_header(server: LiveServer) -> None:
    client = server.browser_session("alice")
    try:
        token = client.headers.pop("x-csrf-token")
        r = client.post("/api/rooms", json={"title": "no header"})
        assert_error(r, 403, "csrf_failed", field="X-CSRF-Token")
        r = client.patch("/api/me", json={"bio": "no header"})
        assert_error(r, 403, "csrf_failed")
        r = client.post("/api/rooms", json={"title": "forged"}, headers={"x-csrf-token": "forged"})
        assert_error(r, 403, "csrf_failed")
        # Reads need no header; the refused writes changed nothing.
        assert client.get("/api/me").json()["bio"] == ""
        assert client.get("/api/hallway").json()["rooms"] == []

        r = client.post(
            "/api/rooms", json={"title": "with header"}, headers={"x-csrf-token": token}
        )
        assert r.status_code == 201, r.text
        r = client.patch("/api/me", json={"bio": "hello"}, headers={"x-csrf-token": token})
        assert r.status_code == 200, r.text
        assert r.json()["bio"] == "hello"
    finally:
        client.close()


def test_bearer_clients_need_no_csrf_header(server: LiveServer) -> None:
    alice = server.signup("alice")
    assert "x-csrf-token" not in alice.http.headers
    r = alice.post("/api/rooms", {"title": "token room"})
    assert r.status_code == 201, r.text
    r = alice.patch("/api/me", {"bio": "via token"})
    assert r.status_code == 200, r.text


# -- API tokens ----------------------------------------------------------------------------


def current_token_id(api: Api) -> int:
    r = api.get("/api/tokens")
    assert r.status_code == 200, r.text
    (current,) = [t for t in r.json()["tokens"] if t["current"]]
    return current["id"]


def test_api_tokens_can_be_listed_and_revoked(server: LiveServer) -> None:
    alice = server.signup("alice")  # holds a token named "api"; signing up left a session
    with server.client() as anonymous:
        r = anonymous.post(
            "/api/auth/token", json={"username": "alice", "password": PASSWORD, "name": "laptop"}
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert set(created) == {"id", "name", "token"} and created["name"] == "laptop"
        r = anonymous.post(
            "/api/auth/token", json={"username": "alice", "password": "not it at all"}
        )
        assert_error(r, 401, "bad_credentials")
    laptop = Api(server, alice.user, created["token"])

    listing = laptop.get("/api/tokens").json()["tokens"]
    assert [(t["kind"], t["name"]) for t in listing] == [
        ("session", "browser"),
        ("api", "api"),
        ("api", "laptop"),
    ]
    assert [t["id"] for t in listing if t["current"]] == [created["id"]]
    for t in listing:
        assert set(t) == {"id", "kind", "name", "created_at", "last_used_at", "current"}
        assert created["token"] not in str(t) and alice.token not in str(t)
    first = current_token_id(alice)
    assert first == listing[1]["id"]

    # Revoking one token ends it, and only it.
    assert laptop.delete(f"/api/tokens/{first}").status_code == 204
    assert_error(alice.get("/api/me"), 401, "unauthenticated")
    assert laptop.get("/api/me").status_code == 200
    assert first not in [t["id"] for t in laptop.get("/api/tokens").json()["tokens"]]
    assert_error(laptop.delete(f"/api/tokens/{first}"), 404, "not_found", field="token_id")

    # Nobody can revoke someone else's token; it keeps working.
    bob = server.signup("bob")
    assert_error(bob.delete(f"/api/tokens/{created['id']}"), 404, "not_found", field="token_id")
    assert laptop.get("/api/me").status_code == 200
    assert created["id"] not in [t["id"] for t in bob.get("/api/tokens").json()["tokens"]]


def test_token_listing_needs_a_credential(server: LiveServer) -> None:
    with server.client() as anonymous:
        assert_error(anonymous.get("/api/tokens"), 401, "unauthenticated")
    with server.client("not-a-real-token") as forged:
        assert_error(forged.get("/api/tokens"), 401, "unauthenticated")
        assert_error(forged.delete("/api/tokens/1"), 401, "unauthenticated")
