"""The ``salon`` command, run as a real process: exit codes, messages, and a real server.

Exit codes (core/cli.py): 0 done, 1 failed, 2 usage or configuration error.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w
from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salon.core import db
from salon.core.app import create_app
from salon.core.settings import load_settings
from tests.core.thirdparty import HELLO_VERSION, PACKAGES, install_hello
from tests.helpers import PASSWORD, LiveServer, free_port, healthy, wait_for, write_config

CONSOLE_SCRIPT = Path(sys.executable).with_name("salon")
# The console script pip installed next to this interpreter; the module otherwise.
SALON = (
    [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "salon.core.cli"]
)

EXIT_USAGE = 2


# -- helpers -------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any SALON_* variable, plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SALON_")}
    env.update(extra)
    return env


def salon(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``salon ARGS`` to completion in CWD (its own session: no terminal to prompt on)."""
    return subprocess.run(
        [*SALON, *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


class Served:
    """A ``salon serve`` process and its combined output."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path, port: int):
        self.process = process
        self.log = log
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        """Terminate it (SIGTERM, as a service manager would) and check it shut down
        cleanly: uvicorn runs the application's shutdown, then re-raises the signal."""
        self.process.terminate()
        code = self.process.wait(timeout=30)
        assert code in (0, -signal.SIGTERM), f"exit {code}:\n{self.output()}"
        assert "Application shutdown complete." in self.output()


@contextmanager
def serving(
    *args: str, cwd: Path, port: int, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Start ``salon serve ARGS``; yield once PORT answers /healthz; always end it."""
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*SALON, "serve", *args],
            cwd=cwd,
            env=env if env is not None else clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, log, port)
    try:
        wait_for(
            lambda: process.poll() is not None or healthy(f"http://127.0.0.1:{port}"),
            timeout=60,
            interval=0.1,
        )
        if process.poll() is not None:
            pytest.fail(f"salon serve exited with {process.returncode}:\n{served.output()}")
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def config_file(directory: Path, **sections: dict[str, Any]) -> Path:
    """A config with its database, secret and key inside DIRECTORY."""
    return write_config(directory, f"sqlite:///{directory / 'salon.db'}", **sections)


# -- usage -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["init"], ["plugins"], ["user"], ["user", "create"], ["db"], ["db", "upgrade"]],
    ids=lambda c: " ".join(c) or "salon",
)
def test_help(tmp_path: Path, command: list[str]) -> None:
    result = salon(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: salon")
    if not command:
        for name in ("serve", "init", "plugins", "user", "db"):
            assert f"\n  {name} " in result.stdout


def test_unknown_command_exits_2(tmp_path: Path) -> None:
    result = salon("sreve", cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "No such command 'sreve'" in result.stderr


# -- serve -------------------------------------------------------------------------


def test_serve_refuses_a_misspelled_key(tmp_path: Path) -> None:
    config = tmp_path / "salon.toml"
    config.write_text('[instance]\nnmae = "x"\n')
    result = salon("serve", "--port", str(free_port()), "--config", str(config), cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "instance.nmae: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_value(tmp_path: Path) -> None:
    config = tmp_path / "salon.toml"
    config.write_text('[instance]\nregistration = "maybe"\n')
    result = salon("serve", "--port", str(free_port()), "--config", str(config), cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    (line,) = [line for line in result.stderr.splitlines() if "instance.registration" in line]
    assert "'open', 'invite' or 'closed'" in line
    assert "'maybe'" in line


def test_serve_refuses_an_unknown_plugin(tmp_path: Path) -> None:
    config = config_file(tmp_path / "instance", plugins={"enabled": ["no_such_plugin"]})
    result = salon("serve", "--port", str(free_port()), "--config", str(config), cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "plugins.enabled" in result.stderr and "no_such_plugin" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_malformed_environment_value(tmp_path: Path) -> None:
    config = config_file(tmp_path / "instance")
    env = clean_env(SALON_PLUGINS__ENABLED="clubs")  # a list must be JSON
    result = salon("serve", "--config", str(config), cwd=tmp_path, env=env)
    assert result.returncode == EXIT_USAGE
    assert "SALON_PLUGINS__ENABLED" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_serves_healthz(tmp_path: Path) -> None:
    config = config_file(tmp_path / "instance", instance={"name": "CLI test salon"})
    port = free_port()
    with serving("--config", str(config), "--port", str(port), cwd=tmp_path, port=port) as served:
        r = httpx.get(f"{served.url}/api/plugins")
        assert r.status_code == 200
        # Installed plugins are listed; the test config enables none of them.
        listed = r.json()["plugins"]
        assert {p["state"] for p in listed} <= {"disabled"}
        assert [p for p in listed if p["enabled"]] == []
        assert f"CLI test salon on http://127.0.0.1:{port} (config: {config})" in served.output()
        served.stop()
    assert not healthy(f"http://127.0.0.1:{port}")
    assert (tmp_path / "instance" / "salon.db").exists()  # migrated on start


def test_serve_port_from_the_environment(tmp_path: Path) -> None:
    config_port, env_port = free_port(), free_port()
    config = config_file(tmp_path / "instance", server={"port": config_port})
    env = clean_env(SALON_SERVER__PORT=str(env_port))
    with serving("--config", str(config), cwd=tmp_path, port=env_port, env=env) as served:
        assert not healthy(f"http://127.0.0.1:{config_port}")
        served.stop()


def test_serve_reads_the_config_named_by_salon_config(tmp_path: Path) -> None:
    port = free_port()
    config = config_file(
        tmp_path / "instance", instance={"name": "Named by SALON_CONFIG"}, server={"port": port}
    )
    env = clean_env(SALON_CONFIG=str(config))
    with serving(cwd=tmp_path, port=port, env=env) as served:
        assert f"Named by SALON_CONFIG on http://127.0.0.1:{port}" in served.output()
        served.stop()


# -- init ---------------------------------------------------------------------------


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_init_writes_a_config_and_keys(tmp_path: Path) -> None:
    directory = tmp_path / "my-salon"
    result = salon("init", str(directory), "--name", "Night Owls", cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    config = directory / "salon.toml"
    secret = directory / "secret.key"
    key = directory / "instance-key.pem"
    public = directory / "instance-key.pub.pem"
    assert mode(secret) == 0o600
    assert mode(key) == 0o600
    assert len(secret.read_text().strip()) >= 32

    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    published = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(published, rsa.RSAPublicKey)
    assert published.public_numbers() == private.public_key().public_numbers()

    # The config is valid and points at what was written beside it.
    settings = load_settings(config)
    assert settings.instance.name == "Night Owls"
    assert settings.instance.secret_key == f"file:{secret}"
    assert settings.instance.key_file == str(key)
    assert settings.instance.database_url == f"sqlite:///{directory / 'salon.db'}"
    assert not list(directory.glob(".salon-init-check*"))

    # No overwriting without --force; nothing is touched.
    before = {p.name: p.read_bytes() for p in (config, secret, key, public)}
    again = salon("init", str(directory), cwd=tmp_path)
    assert again.returncode == EXIT_USAGE
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert {p.name: p.read_bytes() for p in (config, secret, key, public)} == before

    forced = salon("init", str(directory), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert key.read_bytes() != before["instance-key.pem"]
    assert secret.read_bytes() != before["secret.key"]
    assert mode(key) == 0o600 and mode(secret) == 0o600


def test_init_config_serves(tmp_path: Path) -> None:
    directory = tmp_path / "my-salon"
    assert salon("init", str(directory), cwd=tmp_path).returncode == 0
    port = free_port()
    config = str(directory / "salon.toml")
    with serving("--config", config, "--port", str(port), cwd=tmp_path, port=port) as served:
        served.stop()
    assert (directory / "salon.db").exists()


# -- user create ----------------------------------------------------------------------


def login(server: LiveServer, username: str, password: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/api/auth/login", json={"username": username, "password": password})


def test_user_create(tmp_path: Path) -> None:
    config = str(config_file(tmp_path / "instance"))

    def create(
        name: str, *options: str, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return salon(
            "user", "create", name, *options, "--config", config, cwd=tmp_path, input=input
        )

    # The password typed on standard input (asked twice), or given with --password.
    typed = create("Alice", "--admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert typed.returncode == 0, typed.stderr
    assert "created admin user alice" in typed.stdout
    given = create("bob", "--password", "bobs password")
    assert given.returncode == 0, given.stderr
    assert "created user bob" in given.stdout

    duplicate = create("alice", "--password", "another one")
    assert duplicate.returncode != 0
    assert "a user named 'alice' already exists" in duplicate.stderr
    short = create("carol", "--password", "short")
    assert short.returncode == EXIT_USAGE
    assert "password must be at least 8 characters" in short.stderr

    server = LiveServer(create_app(load_settings(config))).start()
    try:
        r = login(server, "alice", PASSWORD)
        assert r.status_code == 200, r.text
        assert r.json()["is_admin"] is True
        r = login(server, "bob", "bobs password")
        assert r.status_code == 200, r.text
        assert r.json()["is_admin"] is False
        assert login(server, "alice", "another one").status_code == 401
        assert login(server, "carol", "short").status_code == 401
    finally:
        server.stop()


# -- plugins ------------------------------------------------------------------------


def listed(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    """The rows of ``salon plugins --json`` by plugin name."""
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_plugins_lists_installed_plugins_and_states(tmp_path: Path) -> None:
    site = install_hello(tmp_path / "site-packages")
    env = clean_env(PYTHONPATH=os.pathsep.join([str(site), str(PACKAGES)]))
    nobody = f"http://127.0.0.1:{free_port()}"  # no server there: states come from config

    off = config_file(tmp_path / "off", instance={"base_url": nobody})
    result = salon("plugins", "--config", str(off), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("hello ")]
    assert row.split(None, 2) == ["hello", HELLO_VERSION, "disabled (not in plugins.enabled)"]
    assert result.stdout.splitlines()[-1].startswith(f"(no server answered at {nobody}")

    on = config_file(tmp_path / "on", instance={"base_url": nobody}, plugins={"enabled": ["hello"]})
    result = salon("plugins", "--json", "--config", str(on), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert listed(result)["hello"] == {
        "name": "hello",
        "version": HELLO_VERSION,
        "state": "enabled (starts with the server)",
    }

    # With the instance running at its base_url, the states are the server's own.
    port = free_port()
    live = config_file(
        tmp_path / "live",
        instance={"base_url": f"http://127.0.0.1:{port}"},
        server={"port": port},
        plugins={"enabled": ["hello"]},
    )
    with serving("--config", str(live), cwd=tmp_path, port=port, env=env):
        result = salon("plugins", "--json", "--config", str(live), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert listed(result)["hello"] == {
        "name": "hello",
        "version": HELLO_VERSION,
        "state": "running",
    }

    # Without the package installed, nothing is listed.
    result = salon("plugins", "--config", str(off), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello" not in result.stdout


def test_plugins_refuses_an_unknown_enabled_plugin(tmp_path: Path) -> None:
    config = config_file(tmp_path / "instance", plugins={"enabled": ["no_such_plugin"]})
    result = salon("plugins", "--config", str(config), cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "plugins.enabled" in result.stderr and "no_such_plugin" in result.stderr


# -- db upgrade -------------------------------------------------------------------------


def test_db_upgrade_on_an_empty_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    database.touch()
    config = tmp_path / "salon.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "instance": {
                    "database_url": f"sqlite:///{database}",
                    "secret_key": f"file:{tmp_path / 'secret.key'}",
                }
            }
        )
    )
    for _ in range(2):  # and again: nothing left to apply
        result = salon("db", "upgrade", "--config", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "database is up to date" in result.stdout

    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"user", "authtoken", "follow", "room", "roommember"} <= tables
    heads = ScriptDirectory.from_config(db.alembic_config(f"sqlite:///{database}")).get_heads()
    assert [version] == heads
