"""Membership by role and policy: joining, invitations, requests, leaving, removing,
promoting, demoting, handing over; who sees the member list; following."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Api, LiveServer, assert_error

from .conftest import make_club, person, rows_of


def members(api: Api, handle: str) -> dict[str, tuple[str, str]]:
    r = api.get(f"/api/clubs/{handle}/members")
    assert r.status_code == 200, r.text
    return {m["user"]["username"]: (m["role"], m["status"]) for m in r.json()["members"]}


def membership(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def people(server: LiveServer) -> dict[str, Api]:
    """ann founds clubs; bob, cat and dan are other users."""
    return {name: person(server, name) for name in ("ann", "bob", "cat", "dan")}


def test_open_club_join_and_leave(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob = people["ann"], people["bob"]
    make_club(ann, "Open House", handle="open")
    assert membership(bob.post("/api/clubs/open/join"))["status"] == "active"
    assert_error(bob.post("/api/clubs/open/join"), 409)  # already a member
    assert members(bob, "open") == {"ann": ("admin", "active"), "bob": ("member", "active")}
    assert membership(bob.post("/api/clubs/open/leave"))["status"] is None
    assert rows_of(server, "open", "bob") == []
    assert_error(bob.post("/api/clubs/open/leave"), 409)


def test_approval_club_request_approve_and_decline(
    any_db_server: LiveServer, people: dict[str, Api]
) -> None:
    server = any_db_server
    ann, bob, cat, dan = people["ann"], people["bob"], people["cat"], people["dan"]
    make_club(ann, "Book Circle", handle="books", join_policy="approval")
    assert membership(bob.post("/api/clubs/books/join"))["status"] == "requested"
    assert membership(cat.post("/api/clubs/books/join"))["status"] == "requested"
    assert_error(bob.post("/api/clubs/books/join"), 409)  # asked already
    # Only admins see requests; a requester is not a member.
    assert members(ann, "books")["bob"] == ("member", "requested")
    assert "bob" not in members(dan, "books")
    # A member (even a leader) may not answer requests.
    assert membership(ann.post("/api/clubs/books/requests/bob/approve"))["status"] == "active"
    error = assert_error(bob.post("/api/clubs/books/requests/cat/approve"), 403)
    assert error["message"] == "only the club's admins can answer requests to join"
    # A declined request leaves no membership at all.
    assert membership(ann.post("/api/clubs/books/requests/cat/decline"))["status"] is None
    assert rows_of(server, "books", "cat") == []
    assert "cat" not in members(ann, "books")
    assert_error(ann.post("/api/clubs/books/requests/cat/approve"), 409, field="username")
    assert_error(ann.post("/api/clubs/books/requests/dan/decline"), 409, field="username")
    assert_error(ann.post("/api/clubs/books/requests/nobody/approve"), 404, field="username")
    # cat may ask again; withdrawing a request leaves nothing either.
    assert membership(cat.post("/api/clubs/books/join"))["status"] == "requested"
    assert membership(cat.post("/api/clubs/books/leave"))["status"] is None
    assert rows_of(server, "books", "cat") == []


def test_invite_only_club(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob, cat, dan = people["ann"], people["bob"], people["cat"], people["dan"]
    make_club(ann, "Secret Society", handle="secret", join_policy="invite")
    error = assert_error(bob.post("/api/clubs/secret/join"), 403)
    assert "invite-only" in error["message"]
    assert rows_of(server, "secret", "bob") == []
    invited = membership(
        ann.post("/api/clubs/secret/invitations", {"username": "bob", "role": "admin"}), 201
    )
    assert (invited["role"], invited["status"]) == ("admin", "invited")
    assert "bob" not in members(dan, "secret")  # an invitation is not a membership
    assert membership(bob.post("/api/clubs/secret/join"))["role"] == "admin"  # accepted
    # Members may not invite; admins may not invite twice; unknown users are named.
    ann.post("/api/clubs/secret/invitations", {"username": "cat"})
    error = assert_error(
        cat.post("/api/clubs/secret/invitations", {"username": "dan"}), 403
    )  # cat is only invited
    assert membership(cat.post("/api/clubs/secret/join"))["role"] == "member"
    error = assert_error(cat.post("/api/clubs/secret/invitations", {"username": "dan"}), 403)
    assert error["message"] == "only the club's admins can invite people"
    assert_error(
        ann.post("/api/clubs/secret/invitations", {"username": "cat"}), 409, field="username"
    )
    assert_error(
        ann.post("/api/clubs/secret/invitations", {"username": "zed"}), 422, field="username"
    )
    assert_error(
        ann.post("/api/clubs/secret/invitations", {"username": "dan", "role": "owner"}),
        422,
        field="role",
    )
    # Declining an invitation leaves nothing.
    ann.post("/api/clubs/secret/invitations", {"username": "dan"})
    assert membership(dan.post("/api/clubs/secret/invitation/decline"))["status"] is None
    assert rows_of(server, "secret", "dan") == []
    assert_error(dan.post("/api/clubs/secret/invitation/decline"), 409)


def test_inviting_someone_who_asked_admits_them(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob = people["ann"], people["bob"]
    make_club(ann, "Approvals", handle="appr", join_policy="approval")
    bob.post("/api/clubs/appr/join")
    r = ann.post("/api/clubs/appr/invitations", {"username": "bob", "role": "leader"})
    assert (r.json()["role"], r.json()["status"]) == ("leader", "active")


def test_removing_members_by_role(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob, cat, dan = people["ann"], people["bob"], people["cat"], people["dan"]
    make_club(ann, "Runners", handle="run")
    for who in (bob, cat, dan):
        who.post("/api/clubs/run/join")
    ann.patch("/api/clubs/run/members/cat", {"role": "leader"})
    ann.patch("/api/clubs/run/members/dan", {"role": "admin"})
    # A member may not remove an admin, nor anyone; a leader neither.
    for who, target in ((bob, "ann"), (bob, "cat"), (cat, "ann"), (cat, "bob")):
        error = assert_error(who.delete(f"/api/clubs/run/members/{target}"), 403)
        assert error["message"] == "only the club's admins can remove members"
    assert_error(ann.delete("/api/clubs/run/members/ann"), 403)  # leave instead
    assert membership(ann.delete("/api/clubs/run/members/bob"))["status"] is None
    assert rows_of(server, "run", "bob") == []
    assert membership(dan.delete("/api/clubs/run/members/cat"))["status"] is None
    assert_error(ann.delete("/api/clubs/run/members/cat"), 404, field="username")
    assert set(members(ann, "run")) == {"ann", "dan"}


def test_promote_demote_and_the_last_admin(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    make_club(ann, "Poets", handle="poets")
    bob.post("/api/clubs/poets/join")
    # A member may not promote themselves or anyone.
    error = assert_error(bob.patch("/api/clubs/poets/members/bob", {"role": "admin"}), 403)
    assert error["message"] == "only the club's admins can change roles"
    assert membership(ann.patch("/api/clubs/poets/members/bob", {"role": "leader"}))["role"] == (
        "leader"
    )
    assert_error(bob.patch("/api/clubs/poets/members/ann", {"role": "member"}), 403)
    assert_error(ann.patch("/api/clubs/poets/members/bob", {"role": "king"}), 422, field="role")
    assert_error(ann.patch("/api/clubs/poets/members/cat", {"role": "leader"}), 404)
    # The last admin can neither step down nor leave without a successor.
    assert_error(ann.patch("/api/clubs/poets/members/ann", {"role": "member"}), 409, field="role")
    error = assert_error(ann.post("/api/clubs/poets/leave"), 422, field="successor")
    assert "last admin" in error["message"]
    assert_error(
        ann.post("/api/clubs/poets/leave", {"successor": "cat"}), 422, field="successor"
    )  # not a member
    assert_error(ann.post("/api/clubs/poets/leave", {"successor": "zed"}), 422, field="successor")
    assert members(ann, "poets")["ann"] == ("admin", "active")
    assert membership(ann.post("/api/clubs/poets/leave", {"successor": "bob"}))["status"] is None
    assert members(bob, "poets") == {"bob": ("admin", "active")}
    # With two admins, one may step down.
    cat.post("/api/clubs/poets/join")
    bob.patch("/api/clubs/poets/members/cat", {"role": "admin"})
    assert membership(cat.patch("/api/clubs/poets/members/bob", {"role": "member"}))["role"] == (
        "member"
    )


def test_hand_over_the_club(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    make_club(ann, "Gardeners", handle="garden")
    bob.post("/api/clubs/garden/join")
    error = assert_error(bob.post("/api/clubs/garden/hand-over", {"username": "bob"}), 403)
    assert error["message"] == "only the club's admins can hand the club over"
    assert_error(ann.post("/api/clubs/garden/hand-over", {"username": "cat"}), 403)  # no member
    assert_error(ann.post("/api/clubs/garden/hand-over", {"username": "ann"}), 422)
    assert membership(ann.post("/api/clubs/garden/hand-over", {"username": "bob"}))["role"] == (
        "admin"
    )
    assert members(cat, "garden") == {"bob": ("admin", "active"), "ann": ("member", "active")}
    assert_error(ann.patch("/api/clubs/garden", {"rules": "mine"}), 403)
    # Now ann, a plain member, may leave freely.
    assert membership(ann.post("/api/clubs/garden/leave"))["status"] is None


@pytest.mark.parametrize(
    ("policy", "anonymous", "outsider", "member"),
    [
        ("public", True, True, True),
        ("members", False, False, True),
        ("admins", False, False, False),
    ],
)
def test_who_sees_the_member_list(
    server: LiveServer,
    people: dict[str, Api],
    policy: str,
    anonymous: bool,
    outsider: bool,
    member: bool,
) -> None:
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    make_club(ann, "Listers", handle="list", member_list=policy)
    bob.post("/api/clubs/list/join")
    with server.client() as nobody:
        assert (nobody.get("/api/clubs/list/members").status_code == 200) is anonymous
    assert (cat.get("/api/clubs/list/members").status_code == 200) is outsider
    r = bob.get("/api/clubs/list/members")
    assert (r.status_code == 200) is member
    if not member:
        assert r.json()["error"]["message"] == "only the club's admins can see its members"
    assert ann.get("/api/clubs/list/members").status_code == 200
    assert bob.get("/api/clubs/list").json()["viewer"]["can_see_members"] is member


def test_follow_and_unfollow(server: LiveServer, people: dict[str, Api]) -> None:
    ann, bob = people["ann"], people["bob"]
    make_club(ann, "Birders", handle="birds", join_policy="invite")
    assert bob.post("/api/clubs/birds/follow").status_code == 204
    assert bob.post("/api/clubs/birds/follow").status_code == 204  # idempotent
    club = bob.get("/api/clubs/birds").json()
    assert club["followers_count"] == 1 and club["viewer"]["following"] is True
    assert club["viewer"]["status"] is None  # following is not joining
    assert bob.delete("/api/clubs/birds/follow").status_code == 204
    assert bob.get("/api/clubs/birds").json()["followers_count"] == 0
    assert_error(bob.post("/api/clubs/nope/follow"), 404)
