"""Profiles and follows over real HTTP, and the two profile hooks plugins use:
``salon_profile_extras`` and ``salon_check_content``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from salon.core.hookspecs import hookimpl
from salon.core.models import User
from tests.helpers import PASSWORD, Api, LiveServer, assert_error, start_instance


def profile(server: LiveServer, username: str, viewer: Api | None = None) -> dict[str, Any]:
    if viewer is not None:
        r = viewer.get(f"/api/users/{username}")
    else:
        with server.client() as anonymous:
            r = anonymous.get(f"/api/users/{username}")
    assert r.status_code == 200, r.text
    return r.json()


def names(server: LiveServer, path: str) -> set[str]:
    with server.client() as anonymous:
        r = anonymous.get(path)
    assert r.status_code == 200, r.text
    users = r.json()["users"]
    for user in users:
        assert set(user) == {"id", "username", "display_name"}, user
    listed = [u["username"] for u in users]
    assert len(listed) == len(set(listed)), listed
    return set(listed)


# -- me ----------------------------------------------------------------------------


def test_me_shows_and_edits_my_profile(server: LiveServer) -> None:
    alice = server.signup("alice")
    assert alice.get("/api/me").json() == {
        "id": alice.id,
        "username": "alice",
        "display_name": "alice",
        "bio": "",
        "is_admin": False,
    }
    r = alice.patch("/api/me", {"display_name": "Alice Liddell", "bio": "Down the hole."})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Alice Liddell" and r.json()["bio"] == "Down the hole."
    assert alice.get("/api/me").json()["bio"] == "Down the hole."
    shown = profile(server, "alice")
    assert (shown["display_name"], shown["bio"]) == ("Alice Liddell", "Down the hole.")

    # Fields left out stay as they are; an empty display name falls back to the username.
    assert alice.patch("/api/me", {"bio": "Tea at six."}).json()["display_name"] == "Alice Liddell"
    assert alice.patch("/api/me", {}).json()["bio"] == "Tea at six."
    assert alice.patch("/api/me", {"display_name": ""}).json()["display_name"] == "alice"

    # The limits are inclusive.
    r = alice.patch("/api/me", {"display_name": "d" * 60, "bio": "b" * 500})
    assert r.status_code == 200, r.text


def test_too_long_profile_fields_are_refused_naming_the_field(server: LiveServer) -> None:
    alice = server.signup("alice")
    alice.patch("/api/me", {"display_name": "Alice", "bio": "short"})
    assert_error(alice.patch("/api/me", {"display_name": "d" * 61}), 422, field="display_name")
    assert_error(alice.patch("/api/me", {"bio": "b" * 501}), 422, field="bio")
    assert_error(
        alice.patch("/api/me", {"bio": "fine", "display_name": 7}), 422, field="display_name"
    )
    me = alice.get("/api/me").json()
    assert (me["display_name"], me["bio"]) == ("Alice", "short")


def test_me_needs_a_credential(server: LiveServer) -> None:
    with server.client() as anonymous:
        assert_error(anonymous.get("/api/me"), 401, "unauthenticated")
        assert_error(anonymous.patch("/api/me", json={"bio": "x"}), 401, "unauthenticated")


# -- profiles and follows --------------------------------------------------------------


def test_following_shows_in_profiles_and_lists(server: LiveServer) -> None:
    alice, bob, carol = server.signup("alice"), server.signup("bob"), server.signup("carol")
    fresh = profile(server, "alice")
    assert fresh == {
        "id": alice.id,
        "username": "alice",
        "display_name": "alice",
        "bio": "",
        "followers_count": 0,
        "following_count": 0,
        "followed_by_viewer": False,
        "extras": {},
    }

    # Following twice is the same as once.
    for _ in range(2):
        r = bob.post("/api/users/alice/follow")
        assert r.status_code == 204, r.text
    assert carol.post("/api/users/ALICE/follow").status_code == 204  # names ignore case
    assert alice.post("/api/users/bob/follow").status_code == 204

    seen = profile(server, "alice", viewer=bob)
    assert (seen["followers_count"], seen["following_count"]) == (2, 1)
    assert seen["followed_by_viewer"] is True
    assert profile(server, "alice")["followed_by_viewer"] is False  # anonymous
    assert profile(server, "alice", viewer=alice)["followed_by_viewer"] is False
    assert profile(server, "bob", viewer=alice)["followed_by_viewer"] is True
    assert profile(server, "bob", viewer=carol)["followed_by_viewer"] is False
    carol_seen = profile(server, "carol")
    assert (carol_seen["followers_count"], carol_seen["following_count"]) == (0, 1)

    assert names(server, "/api/users/alice/followers") == {"bob", "carol"}
    assert names(server, "/api/users/alice/following") == {"bob"}
    assert names(server, "/api/users/bob/followers") == {"alice"}
    assert names(server, "/api/users/bob/following") == {"alice"}
    assert names(server, "/api/users/carol/followers") == set()
    assert names(server, "/api/users/carol/following") == {"alice"}

    # Unfollowing twice is the same as once.
    for _ in range(2):
        r = bob.delete("/api/users/alice/follow")
        assert r.status_code == 204, r.text
    seen = profile(server, "alice", viewer=bob)
    assert (seen["followers_count"], seen["following_count"]) == (1, 1)
    assert seen["followed_by_viewer"] is False
    assert names(server, "/api/users/alice/followers") == {"carol"}
    assert names(server, "/api/users/bob/following") == set()
    # Unfollowing someone one never followed is fine too.
    assert alice.delete("/api/users/carol/follow").status_code == 204
    assert profile(server, "carol")["followers_count"] == 0


def test_nobody_follows_themselves(server: LiveServer) -> None:
    alice = server.signup("alice")
    assert_error(alice.post("/api/users/alice/follow"), 403, "forbidden")
    assert_error(alice.post("/api/users/Alice/follow"), 403, "forbidden")
    assert profile(server, "alice")["followers_count"] == 0
    assert names(server, "/api/users/alice/followers") == set()


def test_following_needs_a_credential(server: LiveServer) -> None:
    server.signup("alice")
    with server.client() as anonymous:
        assert_error(anonymous.post("/api/users/alice/follow", json={}), 401, "unauthenticated")
        assert_error(anonymous.delete("/api/users/alice/follow"), 401, "unauthenticated")
    assert profile(server, "alice")["followers_count"] == 0


def test_unknown_users_are_404_naming_the_username(server: LiveServer) -> None:
    alice = server.signup("alice")
    with server.client() as anonymous:
        for path in ("", "/followers", "/following"):
            assert_error(anonymous.get(f"/api/users/nobody{path}"), 404, "not_found", "username")
    assert_error(alice.post("/api/users/nobody/follow"), 404, "not_found", "username")
    assert_error(alice.delete("/api/users/nobody/follow"), 404, "not_found", "username")
    assert profile(server, "alice")["following_count"] == 0


# -- plugin hooks ------------------------------------------------------------------------


@hookimpl(specname="salon_profile_extras")
def profile_extras(user: User, viewer: User | None) -> dict[str, Any]:
    return {"profile_of": user.username, "seen_by": viewer.username if viewer else None}


@hookimpl(specname="salon_profile_extras")
async def async_profile_extras(user: User) -> dict[str, Any]:
    return {"tip_jar": f"/tips/{user.id}"}


@hookimpl(specname="salon_profile_extras")
def no_profile_extras(user: User, viewer: User | None) -> None:
    return None


@hookimpl(specname="salon_check_content")
def refuse_turnips(actor: User | None, kind: str, text: str) -> str | None:
    return f"{kind} may not mention turnips" if "turnip" in text.lower() else None


def plugin(name: str, *impls: Any) -> ModuleType:
    """A plugin module holding IMPLS, as a package's entry point would provide."""
    module = ModuleType(name)
    for impl in impls:
        setattr(module, impl.__name__, impl)
    return module


EXTRAS_PLUGIN = plugin("salon_test_extras", profile_extras)
ASYNC_EXTRAS_PLUGIN = plugin("salon_test_async_extras", async_profile_extras)
SILENT_PLUGIN = plugin("salon_test_silent", no_profile_extras)
TURNIP_PLUGIN = plugin("salon_test_no_turnips", refuse_turnips)


def test_salon_profile_extras(tmp_path: Path, database_url: str) -> None:
    server = start_instance(
        tmp_path / "instance",
        database_url,
        extra_plugins=[
            ("extras", EXTRAS_PLUGIN),
            ("async_extras", ASYNC_EXTRAS_PLUGIN),
            ("silent", SILENT_PLUGIN),
        ],
    )
    try:
        alice, bob = server.signup("alice"), server.signup("bob")
        want = {"profile_of": "alice", "tip_jar": f"/tips/{alice.id}"}
        assert profile(server, "alice")["extras"] == {**want, "seen_by": None}
        assert profile(server, "alice", viewer=bob)["extras"] == {**want, "seen_by": "bob"}
        assert profile(server, "bob", viewer=alice)["extras"] == {
            "profile_of": "bob",
            "seen_by": "alice",
            "tip_jar": f"/tips/{bob.id}",
        }
        with server.client() as anonymous:
            listed = {
                p["name"]: p["state"] for p in anonymous.get("/api/plugins").json()["plugins"]
            }
        assert {k: listed.get(k) for k in ("extras", "async_extras", "silent")} == {
            "extras": "running",
            "async_extras": "running",
            "silent": "running",
        }
    finally:
        server.stop()


def test_salon_check_content(tmp_path: Path, database_url: str) -> None:
    server = start_instance(
        tmp_path / "instance", database_url, extra_plugins=[("no_turnips", TURNIP_PLUGIN)]
    )
    try:
        alice = server.signup("alice")
        error = assert_error(
            alice.patch("/api/me", {"bio": "I grow Turnips."}), 422, "content_refused", "bio"
        )
        assert "user.bio may not mention turnips" in error["message"]
        assert_error(
            alice.patch("/api/me", {"display_name": "turnip"}),
            422,
            "content_refused",
            "display_name",
        )
        me = alice.get("/api/me").json()
        assert (me["display_name"], me["bio"]) == ("alice", "")
        r = alice.patch("/api/me", {"bio": "I grow carrots."})
        assert r.status_code == 200, r.text
        assert r.json()["bio"] == "I grow carrots."

        error = assert_error(
            alice.post("/api/rooms", {"title": "Turnip talk"}), 422, "content_refused", "title"
        )
        assert "room.title may not mention turnips" in error["message"]
        assert_error(
            alice.post("/api/rooms", {"title": "Roots", "description": "turnips"}),
            422,
            "content_refused",
            "description",
        )
        assert alice.get("/api/hallway").json()["rooms"] == []
        room = alice.open_room("Carrot talk")
        r = alice.patch(f"/api/rooms/{room['id']}", {"title": "Turnip talk"})
        assert_error(r, 422, "content_refused", "title")
        assert alice.get(f"/api/rooms/{room['id']}").json()["title"] == "Carrot talk"

        with server.client() as anonymous:
            r = anonymous.post(
                "/api/auth/signup",
                json={"username": "bob", "password": PASSWORD, "display_name": "Turnip Bob"},
            )
            assert_error(r, 422, "content_refused", "display_name")
            r = anonymous.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
            assert_error(r, 401, "bad_credentials")
    finally:
        server.stop()
