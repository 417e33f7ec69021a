"""Creating, reading and editing clubs over the API: validation, unique names, content
rules, who may edit, the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.helpers import LiveServer, assert_error

from .conftest import make_club, person


def test_create_read_and_list_a_club(any_db_server: LiveServer) -> None:
    ann, bob = person(any_db_server, "ann"), person(any_db_server, "bob")
    club = make_club(
        ann,
        "Jazz Lovers",
        description="Late-night jazz talk",
        rules="Be kind.\nNo spoilers.",
        topics=["jazz", " bebop  ", "Jazz"],
        avatar="#336699",
        join_policy="approval",
        member_list="members",
    )
    assert club["handle"] == "jazz_lovers"
    assert club["topics"] == ["jazz", "bebop"]  # trimmed, duplicates dropped
    assert club["members_count"] == 1 and club["followers_count"] == 0
    assert club["viewer"] == {
        "role": "admin",
        "status": "active",
        "following": False,
        "can_edit": True,
        "can_host": True,
        "can_see_members": True,
    }
    seen = bob.get("/api/clubs/jazz_lovers").json()
    assert seen["rules"] == "Be kind.\nNo spoilers."
    assert seen["viewer"]["role"] is None and seen["viewer"]["can_edit"] is False
    with any_db_server.client() as anonymous:
        listed = anonymous.get("/api/clubs").json()["clubs"]
        assert [c["handle"] for c in listed] == ["jazz_lovers"]
        assert anonymous.get("/api/clubs/JAZZ_LOVERS").json()["name"] == "Jazz Lovers"
        assert_error(anonymous.get("/api/clubs/nope"), 404, field="handle")
        assert_error(anonymous.get("/api/clubs/bad%20handle"), 404, field="handle")


def test_names_are_unique_whatever_their_case_and_handles_too(server: LiveServer) -> None:
    ann, bob = person(server, "ann"), person(server, "bob")
    make_club(ann, "Night Owls")
    assert_error(bob.post("/api/clubs", {"name": "night  OWLS"}), 409, field="name")
    assert_error(
        bob.post("/api/clubs", {"name": "Early Birds", "handle": "night_owls"}), 409, field="handle"
    )
    make_club(bob, "Night Owls Two", handle="owls2")
    assert_error(
        bob.patch("/api/clubs/owls2", {"name": "NIGHT OWLS"}), 409, field="name"
    )  # renaming checks too


def test_bad_input_is_a_4xx_naming_the_field(server: LiveServer) -> None:
    ann = person(server, "ann")
    cases = [
        ({}, "name"),
        ({"name": "x"}, "name"),
        ({"name": "Ok club", "handle": "Bad Handle"}, "handle"),
        ({"name": "Ok club", "handle": "new"}, "handle"),
        ({"name": "Ok club", "avatar": "javascript:alert(1)"}, "avatar"),
        ({"name": "Ok club", "avatar": "https://x.test/a b.png"}, "avatar"),
        ({"name": "Ok club", "topics": ["a,b"]}, "topics"),
        ({"name": "Ok club", "topics": [f"t{i}" for i in range(11)]}, "topics"),
        ({"name": "Ok club", "join_policy": "everyone"}, "join_policy"),
        ({"name": "Ok club", "member_list": "nobody"}, "member_list"),
        ({"name": "Ok club", "colour": "red"}, "colour"),
        ({"name": "Ok club", "description": "x" * 1001}, "description"),
        ({"name": "Ok \x00 club"}, "name"),
        ({"name": "!!!"}, "handle"),  # no handle can be made from it
    ]
    for body, field in cases:
        r = ann.post("/api/clubs", body)
        assert r.status_code in (400, 422), (body, r.text)
        assert_error(r, r.status_code, field=field)
    assert_error(ann.post("/api/clubs", content=b"{nope"), 400, code="malformed_json")
    assert ann.get("/api/clubs").json()["clubs"] == []


def test_names_and_texts_pass_the_content_rules(server: LiveServer) -> None:
    ann = person(server, "ann")
    r = ann.post("/api/clubs", {"name": "Forbidden club"})
    error = assert_error(r, 422, code="content_refused", field="name")
    assert "club.name may not say that" in error["message"]
    assert_error(
        ann.post("/api/clubs", {"name": "Fine", "rules": "forbidden rules"}), 422, field="rules"
    )
    assert_error(
        ann.post("/api/clubs", {"name": "Fine", "topics": ["forbidden"]}), 422, field="topics"
    )
    make_club(ann, "Fine")
    assert_error(
        ann.patch("/api/clubs/fine", {"description": "forbidden"}), 422, field="description"
    )


def test_only_admins_edit_a_club(server: LiveServer) -> None:
    ann, bob, cat = person(server, "ann"), person(server, "bob"), person(server, "cat")
    make_club(ann, "Chess")
    assert bob.post("/api/clubs/chess/join").status_code == 200
    ann.post("/api/clubs/chess/invitations", {"username": "cat", "role": "leader"})
    assert cat.post("/api/clubs/chess/join").json()["role"] == "leader"
    for who in (bob, cat):
        error = assert_error(who.patch("/api/clubs/chess", {"rules": "mine"}), 403)
        assert error["message"] == "only the club's admins can change the club"
    r = ann.patch("/api/clubs/chess", {"name": "Chess Club", "topics": ["chess"]})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Chess Club" and r.json()["handle"] == "chess"
    with server.client() as anonymous:
        assert_error(anonymous.patch("/api/clubs/chess", json={"rules": "x"}), 401)


def test_only_instance_admins_create_clubs_when_configured(
    clubs_on: Callable[..., LiveServer], sqlite_url: str
) -> None:
    server = clubs_on(sqlite_url, plugins={"clubs": {"create_clubs": "admins"}})
    ann = person(server, "ann")
    error = assert_error(ann.post("/api/clubs", {"name": "Mine"}), 403)
    assert error["message"] == "only instance admins can create clubs"


def test_every_club_endpoint_is_in_the_openapi_document(server: LiveServer) -> None:
    doc = server.client().get("/api/openapi.json").json()
    clubs = {
        (path, method)
        for path, item in doc["paths"].items()
        if path.startswith("/api/clubs")
        for method in item
    }
    served = {
        (route.path, method.lower())
        for route in server.app.routes
        if getattr(route, "path", "").startswith("/api/clubs")
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert clubs == served and len(clubs) == 20
    for path, method in clubs:
        op = doc["paths"][path][method]
        assert op["tags"] == ["clubs"] and op["summary"]
        if method in ("post", "patch"):
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            name = schema["$ref"].rsplit("/", 1)[1]
            assert doc["components"]["schemas"][name]["additionalProperties"] is False
        (success,) = [s for s in op["responses"] if s.startswith("2")]
        if success != "204":
            (media,) = op["responses"][success]["content"]
            assert media == ("text/calendar" if path.endswith(".ics") else "application/json")
    # A write without credentials is refused before anything else is looked at.
    with server.client() as anonymous:
        for path, method in clubs:
            url = re.sub(r"{(\w+)}", "nobody", path).replace("nobody/event", "1/event")
            r = anonymous.request(method.upper(), url, json={} if method != "delete" else None)
            if doc["paths"][path][method].get("security"):
                assert r.status_code == 401, (method, path, r.text)
            else:
                assert r.status_code in (200, 404), (method, path, r.text)


def test_text_postgresql_cannot_store_is_refused_first(any_db_server: LiveServer) -> None:
    ann = person(any_db_server, "ann")
    for body, field in (
        ({"name": "Ok", "topics": ["a\x00b"]}, "topics"),
        ({"name": "Ok", "rules": "a\x00b"}, "rules"),
    ):
        assert_error(ann.post("/api/clubs", body), 422, field=field)
    assert_error(ann.get("/api/clubs/a%00b"), 404, field="handle")
    make_club(ann, "Fine")
    assert_error(ann.delete("/api/clubs/fine/members/a%00b"), 404, field="username")
    assert_error(
        ann.post("/api/clubs/fine/invitations", {"username": "a\x00b"}), 422, field="username"
    )
