"""Deleting an account (``DELETE /api/me``) over real HTTP, and the
``salon_account_deleted`` hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from salon.core.hookspecs import hookimpl
from tests.helpers import PASSWORD, assert_error, start_instance


class Watcher:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    @hookimpl
    async def salon_account_deleted(self, user: Any) -> None:
        self.seen.append(
            {
                "username": user.username,
                "deleted": user.deleted_at is not None,
                "display_name": user.display_name,
                "bio": user.bio,
            }
        )


def test_salon_account_deleted(tmp_path: Path, sqlite_url: str) -> None:
    watcher = Watcher()
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("watcher", watcher)])
    try:
        ann = server.signup("ann")
        assert ann.patch("/api/me", {"bio": "hello"}).status_code == 200
        # A refused deletion (wrong password) calls nothing.
        r = ann.http.request("DELETE", "/api/me", json={"password": "not my password"})
        assert_error(r, 422, field="password")
        assert watcher.seen == []
        r = ann.http.request("DELETE", "/api/me", json={"password": PASSWORD})
        assert r.status_code == 204, r.text
        # Called once, after the deletion is stored: the tombstone, scrubbed.
        assert watcher.seen == [{"username": "ann", "deleted": True, "display_name": "", "bio": ""}]
    finally:
        server.stop()


def room(api: Any, room_id: int) -> dict[str, Any]:
    r = api.get(f"/api/rooms/{room_id}")
    assert r.status_code == 200, r.text
    return r.json()


def members(body: dict[str, Any]) -> set[str]:
    return {m["user"]["username"] for m in body["stage"] + body["audience"]}


def test_deleting_an_account(tmp_path: Path, database_url: str) -> None:
    server = start_instance(tmp_path, database_url)
    try:
        ann, bob = server.signup("ann"), server.signup("bob")
        assert ann.patch("/api/me", {"display_name": "Ann A", "bio": "hi"}).status_code == 200
        assert ann.post("/api/users/bob/follow").status_code == 204
        assert bob.post("/api/users/ann/follow").status_code == 204
        # Ann hosts a room bob listens to, listens to bob's, and scheduled one.
        hers = ann.open_room("Ann's room")
        assert bob.post(f"/api/rooms/{hers['id']}/join").status_code == 200
        his = bob.open_room("Bob's room")
        assert ann.post(f"/api/rooms/{his['id']}/join").status_code == 200
        later = ann.open_room("Later", scheduled_for="2031-01-01T12:00:00+00:00")
        assert later["state"] == "scheduled"
        # Ann is signed in in a browser too.
        browser = server.client()
        r = browser.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
        assert r.status_code == 200, r.text
        browser.headers["x-csrf-token"] = browser.cookies["salon_csrf"]

        # Anonymous, without a password, with a wrong one: refused, nothing deleted.
        with server.client() as anonymous:
            r = anonymous.request("DELETE", "/api/me", json={"password": PASSWORD})
            assert_error(r, 401)
        assert_error(browser.request("DELETE", "/api/me", json={}), 422, field="password")
        r = browser.request("DELETE", "/api/me", json={"password": "wrong password"})
        assert_error(r, 422, code="wrong_password", field="password")
        assert ann.get("/api/me").status_code == 200

        # The web client deletes with its session.
        r = browser.request("DELETE", "/api/me", json={"password": PASSWORD})
        assert r.status_code == 204, r.text

        # Every session and token stopped working.
        assert_error(browser.get("/api/me"), 401)
        assert_error(ann.get("/api/me"), 401)
        browser.close()
        # Her rooms ended as when she leaves: hers had nobody else on stage; bob's
        # goes on without her; the scheduled one is ended.
        assert room(bob, hers["id"])["state"] == "ended"
        assert room(bob, his["id"])["state"] == "live"
        assert members(room(bob, his["id"])) == {"bob"}
        assert room(bob, later["id"])["state"] == "ended"
        # She is gone everywhere: profile, lists, follows, login, the profile page.
        with server.client() as anonymous:
            assert_error(anonymous.get("/api/users/ann"), 404, field="username")
            assert_error(anonymous.get("/api/users/ann/followers"), 404)
            assert_error(anonymous.get("/api/users/ann/following"), 404)
            assert anonymous.get("/users/ann").status_code == 404
            r = anonymous.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
            assert_error(r, 401)
            r = anonymous.post("/api/auth/token", json={"username": "ann", "password": PASSWORD})
            assert_error(r, 401)
            # The username stays reserved.
            r = anonymous.post("/api/auth/signup", json={"username": "ann", "password": PASSWORD})
            assert_error(r, 409, field="username")
        profile = bob.get("/api/users/bob").json()
        assert (profile["followers_count"], profile["following_count"]) == (0, 0)
        assert bob.get("/api/users/bob/followers").json()["users"] == []
        assert bob.get("/api/users/bob/following").json()["users"] == []
        assert_error(bob.post("/api/users/ann/follow"), 404, field="username")
        r = bob.post(f"/api/rooms/{his['id']}/invite-to-speak", {"user_id": ann.id})
        assert_error(r, 422, code="not_found", field="user_id")
    finally:
        server.stop()
