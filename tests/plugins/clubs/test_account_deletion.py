"""A member deletes their account (``DELETE /api/me``): the clubs plugin's
``salon_account_deleted`` removes their memberships, invitations, requests and club
follows, and gives each club they were the last admin of a successor."""

from __future__ import annotations

from tests.helpers import PASSWORD, Api, LiveServer, assert_error

from .conftest import make_club, person, rows_of


def members(api: Api, handle: str) -> dict[str, tuple[str, str]]:
    r = api.get(f"/api/clubs/{handle}/members")
    assert r.status_code == 200, r.text
    return {m["user"]["username"]: (m["role"], m["status"]) for m in r.json()["members"]}


def ok(r: object, status: int = 200) -> dict:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    return r.json()  # type: ignore[attr-defined]


def invite(admin: Api, handle: str, username: str, role: str = "member") -> None:
    ok(admin.post(f"/api/clubs/{handle}/invitations", {"username": username, "role": role}), 201)


def test_deleted_member_leaves_every_club(any_db_server: LiveServer) -> None:
    server = any_db_server
    ann, bob, cat, dan = (person(server, name) for name in ("ann", "bob", "cat", "dan"))
    # jazz: ann is its only admin; bob joined first, then two leaders, cat before dan.
    make_club(ann, "Jazz", handle="jazz")
    ok(bob.post("/api/clubs/jazz/join"))
    invite(ann, "jazz", "cat", "leader")
    invite(ann, "jazz", "dan", "leader")
    ok(dan.post("/api/clubs/jazz/join"))
    ok(cat.post("/api/clubs/jazz/join"))
    # books: ann's too, with members only: bob joined before dan.
    make_club(ann, "Books", handle="books")
    ok(bob.post("/api/clubs/books/join"))
    ok(dan.post("/api/clubs/books/join"))
    # solo: nobody but ann.
    make_club(ann, "Solo", handle="solo")
    # shared: bob's, with ann as a second admin: bob stays its admin.
    make_club(bob, "Shared", handle="shared")
    invite(bob, "shared", "ann", "admin")
    ok(ann.post("/api/clubs/shared/join"))
    # dan's clubs: ann asked to join one, was invited to another, follows a third.
    make_club(dan, "Quiet", handle="quiet", join_policy="approval")
    assert ok(ann.post("/api/clubs/quiet/join"))["status"] == "requested"
    make_club(dan, "Secret", handle="secret", join_policy="invite")
    invite(dan, "secret", "ann")
    make_club(dan, "Birds", handle="birds")
    assert ann.post("/api/clubs/birds/follow").status_code == 204
    assert ann.post("/api/clubs/jazz/follow").status_code == 204
    assert ok(dan.get("/api/clubs/birds"))["followers_count"] == 1

    r = ann.http.request("DELETE", "/api/me", json={"password": PASSWORD})
    assert r.status_code == 204, r.text

    # Every row of hers is gone, whatever its status.
    for handle in ("jazz", "books", "solo", "shared", "quiet", "secret"):
        assert rows_of(server, handle, "ann") == [], handle
    assert "ann" not in members(dan, "quiet")  # no request left to answer
    assert "ann" not in members(dan, "secret")  # no invitation left
    for handle in ("birds", "jazz"):
        assert ok(dan.get(f"/api/clubs/{handle}"))["followers_count"] == 0
    # jazz passed to its longest-standing leader (not to bob, who joined earlier).
    assert members(bob, "jazz") == {
        "bob": ("member", "active"),
        "cat": ("admin", "active"),
        "dan": ("leader", "active"),
    }
    jazz = ok(cat.get("/api/clubs/jazz"))
    assert jazz["viewer"]["can_edit"] is True and jazz["members_count"] == 3
    ok(cat.patch("/api/clubs/jazz", {"description": "cat runs it now"}))
    # books had no leader: its longest-standing member runs it.
    assert members(dan, "books") == {"bob": ("admin", "active"), "dan": ("member", "active")}
    ok(bob.post("/api/clubs/books/invitations", {"username": "cat", "role": "leader"}), 201)
    # shared still had an admin: nothing changed there but her leaving.
    assert members(cat, "shared") == {"bob": ("admin", "active")}
    # solo stays, with no members and no admin: nobody can change it.
    solo = ok(bob.get("/api/clubs/solo"))
    assert solo["members_count"] == 0 and members(bob, "solo") == {}
    assert_error(bob.patch("/api/clubs/solo", {"description": "mine"}), 403)
    # Her account can no longer be invited anywhere.
    r = dan.post("/api/clubs/secret/invitations", {"username": "ann", "role": "member"})
    assert_error(r, 422, field="username")
    assert_error(dan.post("/api/clubs/quiet/requests/ann/approve"), 404, field="username")
