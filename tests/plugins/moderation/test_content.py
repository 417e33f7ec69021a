"""Content rules: the word list and patterns refuse titles, names and bios with a 422
naming the field; the rules are read again from the config file without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w

from tests.helpers import assert_error, write_config

from .conftest import People, moderation_config, start


def test_words_and_patterns_refuse_titles_names_and_bios(people: People) -> None:
    ann = people("ann")
    for field, body in (
        ("bio", {"bio": "I like BADWORD a lot"}),
        ("display_name", {"display_name": "badword"}),
        ("bio", {"bio": "Buy   cheap watches here"}),
    ):
        error = assert_error(ann.patch("/api/me", body), 422, code="content_refused", field=field)
        assert "badword" not in error["message"].lower()
    assert_error(ann.post("/api/rooms", {"title": "so badword"}), 422, field="title")
    r = ann.post("/api/rooms", {"title": "fine", "description": "buy cheap stuff"})
    assert_error(r, 422, field="description")
    rid = ann.open_room("Fine")["id"]
    assert_error(ann.patch(f"/api/rooms/{rid}", {"title": "badword!"}), 422, field="title")
    # Whole words only: a longer word containing it is fine.
    assert ann.patch("/api/me", {"bio": "badwordsmith and cheap talk"}).status_code == 200


def rewrite(path: Path, database_url: str, tmp: Path, **settings: object) -> None:
    write_config(tmp, database_url, **moderation_config(**settings))
    stat = path.stat()
    # Make sure the modification time moves even on coarse file systems.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_rules_reload_without_a_restart(tmp_path: Path, sqlite_url: str) -> None:
    server = start(tmp_path, sqlite_url, words=["alpha"])
    try:
        config = tmp_path / "salon.toml"
        people = People(server)
        ann, mod = people("ann"), people.moderator()
        assert_error(ann.patch("/api/me", {"bio": "alpha"}), 422, field="bio")

        # The moderators' reload endpoint reads the file again.
        rewrite(config, sqlite_url, tmp_path, words=["beta"], patterns=["^zz+$"])
        r = mod.post("/api/moderation/content-rules/reload")
        assert r.status_code == 200 and r.json() == {"words": ["beta"], "patterns": ["^zz+$"]}
        assert ann.patch("/api/me", {"bio": "alpha"}).status_code == 200
        assert_error(ann.patch("/api/me", {"bio": "beta"}), 422, field="bio")
        assert_error(ann.patch("/api/me", {"display_name": "zzzz"}), 422, field="display_name")

        # An edited file is also noticed by itself, at the next check.
        rewrite(config, sqlite_url, tmp_path, words=["gamma"])
        assert ann.patch("/api/me", {"bio": "beta"}).status_code == 200
        assert_error(ann.patch("/api/me", {"bio": "gamma"}), 422, field="bio")
        assert mod.get("/api/moderation/content-rules").json()["words"] == ["gamma"]

        # A broken file is refused, naming the key, and the rules in force stay.
        bad = moderation_config(words=["gamma"], patterns=["(unclosed"])
        text = config.read_text().split("[plugins]")[0] + tomli_w.dumps({"plugins": bad["plugins"]})
        config.write_text(text)
        r = mod.post("/api/moderation/content-rules/reload")
        assert_error(r, 422, code="config_invalid", field="plugins.moderation.patterns")
        assert_error(ann.patch("/api/me", {"bio": "gamma"}), 422, field="bio")
        log = mod.get("/api/moderation/audit").json()["entries"]
        assert log[0]["action"] == "content_rules.reloaded"
        people.engine.dispose()
    finally:
        server.stop()
