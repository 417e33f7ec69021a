"""Remote instance blocks: config, console and command line; the ``instance.federate``
check federation asks; ``salon_instance_blocked`` told so ties are cut."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from salon.core.hookspecs import hookimpl
from salon.plugins.moderation.cli import moderation as moderation_command
from salon.plugins.moderation.instance_blocks import matches, normalise_domain
from tests.helpers import LiveServer, assert_error, start_instance, wait_for, write_config

from .conftest import People, moderation_config


class Recorder:
    """Stands where federation will: records the instances it is told to cut off."""

    def __init__(self) -> None:
        self.blocked: list[tuple[str, Any]] = []

    @hookimpl
    def salon_instance_blocked(self, domain: str, actor: Any) -> None:
        self.blocked.append((domain, actor.username if actor else None))


def federate(server: LiveServer, host: str) -> bool:
    """Ask what federation asks before accepting from or delivering to HOST."""
    coro = server.app.state.permissions.allowed(None, "instance.federate", host)
    return asyncio.run_coroutine_threadsafe(coro, server.app.state.moderation.loop).result(5)


@pytest.fixture
def instance(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    recorder = Recorder()
    server = start_instance(
        tmp_path,
        database_url,
        extra_plugins=[("recorder", recorder)],
        **moderation_config(blocked_instances=["Config.Example"]),
    )
    yield server, recorder, tmp_path / "salon.toml"
    server.stop()


def test_instance_blocks_from_config_console_and_command_line(instance) -> None:  # type: ignore[no-untyped-def]
    server, recorder, config = instance
    people = People(server)
    mod = people.moderator()
    # From the config: announced at start-up, and refused (with its subdomains).
    assert ("config.example", None) in recorder.blocked
    assert not federate(server, "config.example")
    assert not federate(server, "social.config.example")
    assert federate(server, "friendly.example")

    # From the console.
    r = mod.post("/api/moderation/instances", {"domain": "https://Evil.Example/", "reason": "spam"})
    assert r.status_code == 201, r.text
    assert r.json()["domain"] == "evil.example"
    assert ("evil.example", mod.username) in recorder.blocked
    assert not federate(server, "evil.example")
    assert not federate(server, "evil.example:8443")
    assert federate(server, "notevil.example")
    assert_error(
        mod.post("/api/moderation/instances", {"domain": "evil.example"}), 409, field="domain"
    )
    assert_error(
        mod.post("/api/moderation/instances", {"domain": "not a host"}), 422, field="domain"
    )
    listed = {
        i["domain"]: i["source"] for i in mod.get("/api/moderation/instances").json()["instances"]
    }
    assert listed == {"config.example": "config", "evil.example": "console"}
    assert_error(mod.delete("/api/moderation/instances/config.example"), 409, field="domain")
    assert mod.delete("/api/moderation/instances/evil.example").status_code == 204
    assert federate(server, "evil.example")
    assert_error(mod.delete("/api/moderation/instances/evil.example"), 404, field="domain")

    # From the command line, while the server runs: refused at once, and federation
    # is told the first time it asks about that host.
    runner = CliRunner()
    result = runner.invoke(
        moderation_command,
        ["block-instance", "cli.example", "--reason", "abuse", "--config", str(config)],
    )
    assert result.exit_code == 0, result.output
    assert "blocked cli.example" in result.output
    again = runner.invoke(
        moderation_command, ["block-instance", "cli.example", "--config", str(config)]
    )
    assert again.exit_code == 1 and "already blocked" in again.output
    assert not federate(server, "cli.example")
    wait_for(lambda: ("cli.example", None) in recorder.blocked, timeout=5)
    listing = runner.invoke(moderation_command, ["list-instances", "--config", str(config)])
    assert listing.output.splitlines() == [
        "config.example\tconfig\t",
        "cli.example\tconsole\tabuse",
    ]
    bad = runner.invoke(moderation_command, ["block-instance", "-", "--config", str(config)])
    assert bad.exit_code == 2
    result = runner.invoke(
        moderation_command, ["unblock-instance", "cli.example", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert federate(server, "cli.example")
    # A domain added to the config file: refused, and announced, once the file is read.
    url = server.settings.instance.database_url
    write_config(
        config.parent, url, **moderation_config(blocked_instances=["config.example", "new.example"])
    )
    assert mod.post("/api/moderation/content-rules/reload").status_code == 200
    assert not federate(server, "new.example")
    wait_for(lambda: ("new.example", None) in recorder.blocked, timeout=5)
    log = [(e["action"], e["target"]) for e in mod.get("/api/moderation/audit").json()["entries"]]
    assert ("instance.blocked", "cli.example") in log and (
        "instance.unblocked",
        "cli.example",
    ) in log
    people.engine.dispose()


def test_salon_moderation_is_a_salon_command(tmp_path: Path, sqlite_url: str) -> None:
    """Reached through the real ``salon`` entry point, from the config ``$SALON_CONFIG``
    names."""
    config = write_config(tmp_path, sqlite_url, **moderation_config())
    env = {**os.environ, "SALON_CONFIG": str(config)}
    salon = Path(sys.executable).parent / "salon"
    out = subprocess.run(
        [str(salon), "moderation", "block-instance", "shell.example", "--reason", "r"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "blocked shell.example"
    listing = CliRunner().invoke(moderation_command, ["list-instances", "--config", str(config)])
    assert listing.output.splitlines() == ["shell.example\tconsole\tr"]


def test_domain_matching() -> None:
    assert normalise_domain("HTTPS://Social.Example.COM./path") == "social.example.com"
    assert normalise_domain("host.test:8080") == "host.test:8080"
    for bad in ("", "a b", "-x.com", "x..com", "http://", "a" * 300):
        with pytest.raises(ValueError):
            normalise_domain(bad)
    assert matches("a.b.example", ["b.example"]) == "b.example"
    assert matches("b.example:443", ["b.example"]) == "b.example"
    assert matches("xb.example", ["b.example"]) is None
    assert matches("127.0.0.1:8001", ["127.0.0.1:8001"]) == "127.0.0.1:8001"
    assert matches("127.0.0.1:8002", ["127.0.0.1:8001"]) is None
    assert matches("10.0.0.1", ["0.1"]) is None
