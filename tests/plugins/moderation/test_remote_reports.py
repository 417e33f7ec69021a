"""Reports from other servers: a signed ActivityPub ``Flag`` delivered to an instance's
inbox becomes a report in its moderation console, as Mastodon sends one (signed by
the remote instance's own actor, draft-cavage)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytest.importorskip("salon.federation.plugin", reason="the federation package is not here")
helpers = pytest.importorskip("tests.federation.helpers", reason="federation's test helpers")

from salon.core.db import sync_url  # noqa: E402
from salon.federation import signatures as sig  # noqa: E402
from salon.plugins.moderation.remote_reports import read_flag  # noqa: E402
from tests.conftest import PG_SKIP, PG_URL  # noqa: E402

from .conftest import People  # noqa: E402


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """A (federation only, the reporting server, on SQLite) and B (federation and
    moderation, on SQLite, then on a fresh PostgreSQL schema when configured)."""
    schema = f"salon_modfed_{uuid.uuid4().hex[:10]}"
    engine = None
    b_url = f"sqlite:///{tmp_path / 'B.db'}"
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip(PG_SKIP)
        engine = create_engine(sync_url(PG_URL))
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        b_url = (
            make_url(PG_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    urls = {"A": f"sqlite:///{tmp_path / 'A.db'}", "B": b_url}
    cluster = helpers.Cluster(tmp_path, urls.__getitem__)
    try:
        a = cluster.start("A")
        b = cluster.start("B", enabled=["moderation"])
        yield a, b
    finally:
        cluster.stop_all()
        if engine is not None:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


def flag_from(a: Any, objects: list[Any], content: str = "spam, all day") -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{a.url}/{uuid.uuid4()}",
        "type": "Flag",
        "actor": f"{a.url}/actor",
        "content": content,
        "object": objects,
    }


def deliver(a: Any, b: Any, activity: dict[str, Any]) -> httpx.Response:
    """POST ACTIVITY to B's shared inbox, signed as A's instance actor."""
    key_id, key = helpers.signing_key(a, f"{a.url}/actor")
    body = json.dumps(activity).encode()
    message = sig.Message.of(
        "POST", f"{b.url}/inbox", [("Content-Type", "application/activity+json")], body
    )
    sig.sign(sig.CAVAGE, message, key_id, key)
    return httpx.post(f"{b.url}/inbox", headers=dict(message.headers.items()), content=body)


def processed(b: Any, activity: dict[str, Any]) -> bool:
    found = helpers.rows(
        b,
        "SELECT state FROM federation_inbox_item WHERE activity_id = :i",
        i=activity["id"],
    )
    return found == [("processed",)]


def test_a_flag_from_another_server_becomes_a_report(pair: tuple[Any, Any]) -> None:
    a, b = pair
    people = People(b)
    try:
        mod, bob, host = people.moderator(), people("bob"), people("host")
        room = host.open_room("Loud room")
        flag = flag_from(
            a,
            [b.actor(bob.username), f"{b.url}/rooms/{room['id']}", f"{a.url}/users/someone"],
            "<p>Spamming &amp; harassing</p>",
        )
        r = deliver(a, b, flag)
        assert r.status_code == 202, r.text

        def reports() -> list[dict[str, Any]]:
            return mod.get("/api/moderation/reports?state=open").json()["reports"]

        (report,) = helpers.eventually(reports)
        assert report["remote_reporter"] == f"{a.url}/actor"
        assert report["reporter"] is None
        assert report["kind"] == "user" and report["user"]["username"] == bob.username
        assert report["reason"] == "other"
        assert report["text"] == "Spamming & harassing"
        assert report["room_id"] == room["id"]
        assert report["context"]["room"]["title"] == "Loud room"
        assert report["context"]["remote"]["activity"] == flag["id"]
        # A moderator triages it like any other.
        r = mod.post(
            f"/api/moderation/reports/{report['id']}/triage",
            {"state": "dismissed", "note": "not spam"},
        )
        assert r.status_code == 200, r.text
        (entry, *_) = [
            e
            for e in mod.get("/api/moderation/audit").json()["entries"]
            if e["action"] == "report.filed"
        ]
        assert entry["actor"] is None and entry["details"]["remote"] == f"{a.url}/actor"
    finally:
        people.engine.dispose()


def test_a_flag_about_nobody_here_changes_nothing(pair: tuple[Any, Any]) -> None:
    a, b = pair
    people = People(b)
    try:
        mod = people.moderator()
        flag = flag_from(a, [b.actor("nobody_here"), f"{b.url}/rooms/999999", f"{a.url}/x"])
        assert deliver(a, b, flag).status_code == 202
        helpers.eventually(lambda: processed(b, flag))
        assert mod.get("/api/moderation/reports").json()["reports"] == []
        assert helpers.rows(b, "SELECT count(*) FROM moderation_report") == [(0,)]
    finally:
        people.engine.dispose()


def test_a_flag_from_a_blocked_instance_is_refused(pair: tuple[Any, Any]) -> None:
    a, b = pair
    people = People(b)
    try:
        mod, bob = people.moderator(), people("bob")
        r = mod.post("/api/moderation/instances", {"domain": a.host, "reason": "spam"})
        assert r.status_code == 201, r.text
        flag = flag_from(a, [b.actor(bob.username)])
        r = deliver(a, b, flag)
        assert r.status_code == 403 and r.json()["error"]["code"] == "instance_blocked"
        assert helpers.rows(b, "SELECT count(*) FROM federation_inbox_item") == [(0,)]
        assert mod.get("/api/moderation/reports").json()["reports"] == []
    finally:
        people.engine.dispose()


def test_read_flag() -> None:
    base = "https://salon.example"
    flag = read_flag(
        {
            "type": "Flag",
            "object": [
                "https://salon.example/users/Bob",
                {"id": "https://salon.example/rooms/12"},
                "https://salon.example/users/bob/",
                "https://other.example/users/bob",
                "https://salon.example/clubs/x",
                42,
            ],
            "content": "<b>rude</b>",
        },
        base,
    )
    assert flag.usernames == ["bob"]
    assert flag.room_ids == [12]
    assert flag.unknown == ["https://other.example/users/bob", "https://salon.example/clubs/x"]
    assert flag.text == "rude"
    assert read_flag(
        {"type": "Flag", "object": "https://salon.example/users/ann"}, base
    ).usernames == ["ann"]
