"""With clubs switched off (as any third-party plugin can be), the instance runs, the
hallway works and no club route exists."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_error, start_instance


def test_clubs_disabled_leaves_no_trace(tmp_path: Path, sqlite_url: str) -> None:
    server = start_instance(tmp_path, sqlite_url, plugins={"enabled": []})
    try:
        ann = server.signup("ann")
        room = ann.open_room("No clubs here")
        (card,) = ann.get("/api/hallway").json()["rooms"]
        assert card["id"] == room["id"] and card["extras"] == {}
        with server.client() as anonymous:
            home = anonymous.get("/")
            assert home.status_code == 200 and "No clubs here" in home.text
            assert 'href="/clubs"' not in home.text  # no nav link
            for path in ("/api/clubs", "/api/clubs/jazz", "/api/clubs/jazz/calendar.ics"):
                assert_error(anonymous.get(path), 404)
            assert anonymous.get("/clubs").status_code == 404
            assert anonymous.get("/static/plugins/clubs/clubs.js").status_code == 404
            doc = anonymous.get("/api/openapi.json").json()
            assert not [p for p in doc["paths"] if "club" in p]
            plugins = {p["name"]: p for p in anonymous.get("/api/plugins").json()["plugins"]}
            assert plugins["clubs"]["enabled"] is False
        assert not any("club" in getattr(r, "path", "") for r in server.app.routes)
    finally:
        server.stop()


def test_clubs_enabled_adds_its_routes_and_nav(tmp_path: Path, sqlite_url: str) -> None:
    server = start_instance(tmp_path, sqlite_url, plugins={"enabled": ["clubs"]})
    try:
        with server.client() as anonymous:
            assert anonymous.get("/api/clubs").json() == {"clubs": []}
            assert 'href="/clubs"' in anonymous.get("/").text
            assert anonymous.get("/static/plugins/clubs/clubs.js").status_code == 200
            plugins = {p["name"]: p for p in anonymous.get("/api/plugins").json()["plugins"]}
            assert plugins["clubs"]["state"] == "running"
    finally:
        server.stop()
