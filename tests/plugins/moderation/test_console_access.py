"""The console is for moderators only, enforced on the server: every console endpoint
answers 403 to a signed-in user who is not one (and 401 to nobody signed in); granting
the role is for admins."""

from __future__ import annotations

import re

import pytest

from salon.plugins.moderation import api
from tests.helpers import LiveServer, assert_error

from .conftest import People

VALUES = {"report_id": "1", "username": "someone", "domain": "example.org"}
ADMIN_ONLY = [api.grant_moderator, api.revoke_moderator]


def call(client, route, body: dict | None = None):  # type: ignore[no-untyped-def]
    doc = route.openapi
    url = re.sub(r"{(\w+)}", lambda m: VALUES[m.group(1)], doc.path)
    json = (body if body is not None else {}) if doc.body is not None else None
    return client.request(doc.method.upper(), url, json=json)


@pytest.mark.parametrize("route", api.CONSOLE_ROUTES, ids=lambda r: f"{r.openapi.method} {r.path}")
def test_every_console_endpoint_refuses_non_moderators(
    route, mserver: LiveServer, people: People
) -> None:  # type: ignore[no-untyped-def]
    someone = people("someone")
    assert_error(call(someone.http, route), 403)
    with mserver.client() as anonymous:
        assert_error(call(anonymous, route), 401)
    if route in ADMIN_ONLY:
        assert_error(call(people.moderator().http, route), 403)


def test_moderators_and_admins_reach_the_console(mserver: LiveServer, people: People) -> None:
    someone, mod, admin = people("someone"), people.moderator(), people.admin()
    for who in (mod, admin):
        assert who.get("/api/moderation/reports").status_code == 200
        page = who.get("/moderation")
        assert page.status_code == 200 and 'id="moderation-console"' in page.text
        # A nav link in every page for moderators.
        assert 'href="/moderation"' in who.get("/").text
    assert someone.get("/moderation").status_code == 403
    assert 'href="/moderation"' not in someone.get("/").text
    with mserver.client() as anonymous:
        r = anonymous.get("/moderation", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_admins_grant_and_revoke_the_moderator_role(people: People) -> None:
    admin, carl = people.admin(), people("carl")
    assert_error(carl.get("/api/moderation/reports"), 403)
    assert admin.post("/api/moderation/moderators", {"username": carl.username}).status_code == 204
    assert carl.get("/api/moderation/reports").status_code == 200
    listed = admin.get("/api/moderation/moderators").json()["moderators"]
    assert {"user": carl.user | {"display_name": "carl"}, "how": "granted"} in listed
    r = admin.post("/api/moderation/moderators", {"username": carl.username})
    assert_error(r, 409, field="username")
    assert admin.delete(f"/api/moderation/moderators/{carl.username}").status_code == 204
    assert_error(carl.get("/api/moderation/reports"), 403)
    r = admin.delete(f"/api/moderation/moderators/{carl.username}")
    assert_error(r, 404, field="username")
    log = admin.get("/api/moderation/audit").json()["entries"]
    assert [e["action"] for e in log[:2]] == ["moderator.revoked", "moderator.granted"]


@pytest.mark.parametrize("route", api.routes, ids=lambda r: f"{r.openapi.method} {r.path}")
def test_bad_input_is_a_4xx_never_a_500(route, people: People) -> None:  # type: ignore[no-untyped-def]
    admin = people.admin()
    doc = route.openapi
    for values in (
        {"report_id": "99999999999", "username": "a%00b", "domain": "%00"},
        {"report_id": "0", "username": "x" * 300, "domain": "a..b"},
    ):
        url = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], doc.path)
        method = doc.method.upper()
        if doc.body is not None:
            r = admin.http.request(method, url, json={"unknown_field": 1})
            assert 400 <= r.status_code < 500, (url, r.text)
            r = admin.http.request(method, url, content=b"[1, 2")
            assert 400 <= r.status_code < 500, (url, r.text)
        elif method == "DELETE":  # of something that does not exist
            r = admin.http.request(method, url)
            assert 400 <= r.status_code < 500, (url, r.text)
        else:
            r = admin.http.request(method, url, params={"state": "\x00", "before": "x"})
            assert r.status_code < 500, (url, r.text)
