"""The clubs pages over plain HTTP: who gets which page, and what each shows."""

from __future__ import annotations

from tests.helpers import LiveServer

from .conftest import make_club, person


def test_pages_by_visitor(server: LiveServer) -> None:
    ann, bob = person(server, "ann"), person(server, "bob")
    make_club(ann, "Jazz", handle="jazz", member_list="members", rules="Be kind")
    with server.client() as anonymous:
        listing = anonymous.get("/clubs")
        assert listing.status_code == 200 and 'href="/clubs/jazz"' in listing.text
        page = anonymous.get("/clubs/jazz")
        assert page.status_code == 200
        assert "Be kind" in page.text and "Log in</a> to follow or join" in page.text
        assert "Only the club's members can see who its members are." in page.text
        assert anonymous.get("/clubs/nope").status_code == 404
        for path in ("/clubs/new", "/clubs/jazz/edit", "/clubs/jazz/members"):
            r = anonymous.get(path)
            assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    r = bob.get("/clubs/jazz/members")
    assert r.status_code == 403 and "only the club&#39;s admins can change the club" in r.text
    assert bob.get("/clubs/jazz/edit").status_code == 403
    assert bob.get("/clubs/nope/edit").status_code == 404
    manage = ann.get("/clubs/jazz/members")
    assert manage.status_code == 200 and "Invite someone" in manage.text
    edit = ann.get("/clubs/jazz/edit")
    assert edit.status_code == 200 and 'value="Jazz"' in edit.text
    # The club page shows the host form to admins and leaders only.
    assert "Host a club room" in ann.get("/clubs/jazz").text
    bob.post("/api/clubs/jazz/join")
    mine = bob.get("/clubs/jazz").text
    assert "Host a club room" not in mine and "@ann" in mine
