"""Reports from other servers: a signed ActivityPub ``Flag`` delivered to an instance's
inbox becomes a report in its moderation console, as Mastodon sends one (signed by
the remote instance's own actor, draft-cavage)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from salon.federation import signatures as sig
from salon.plugins.moderation.remote_reports import read_flag
from tests.conftest import postgres_schema
from tests.federation import helpers

from .conftest import People


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """A (federation only, the reporting server, on SQLite) and B (federation and
    moderation, on SQLite, then on a fresh PostgreSQL schema when configured)."""
    with ExitStack() as stack:
        b_url = f"sqlite:///{tmp_path / 'B.db'}"
        if request.param == "postgresql":
            b_url = stack.enter_context(postgres_schema("salon_modfed"))
        urls = {"A": f"sqlite:///{tmp_path / 'A.db'}", "B": b_url}
        cluster = helpers.Cluster(tmp_path, urls.__getitem__)
        stack.callback(cluster.stop_all)
        a = cluster.start("A")
        b = cluster.start("B", enabled=["moderation"])
        yield a, b


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
