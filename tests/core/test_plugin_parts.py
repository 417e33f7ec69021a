"""A plugin's own parts beside its hooks: database migrations, ``salon`` sub-commands,
templates and static files, and what it adds to the web client's pages.

All of it is shown with the third-party ``salon-hello`` distribution
(tests/core/thirdparty), installed the way pip would install it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from salon.core import db
from salon.core.plugins import PluginManager
from salon.core.settings import load_settings
from tests.core.thirdparty import PACKAGES, install_hello
from tests.helpers import start_instance, write_config

SALON = [sys.executable, "-m", "salon.core.cli"]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``salon-hello`` installed for this process (and its site dir for subprocesses)."""
    site = install_hello(tmp_path / "site-packages")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PACKAGES))
    return site


def tables(url: str) -> set[str]:
    engine = db.make_sync_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_salon_migrations(site: Path, tmp_path: Path, database_url: str) -> None:
    """An enabled plugin's migrations run after the core's, in their own history; turning
    the plugin off and on again leaves both histories intact."""
    db.upgrade(database_url)
    assert "hello_greeting" not in tables(database_url)

    on = load_settings(write_config(tmp_path / "on", database_url, plugins={"enabled": ["hello"]}))
    manager = PluginManager()
    manager.load(on)
    assert set(manager.migrations()) == {"hello"}
    server = start_instance(tmp_path / "a", database_url, plugins={"enabled": ["hello"]})
    server.stop()
    found = tables(database_url)
    assert {"hello_greeting", "alembic_version_hello", "alembic_version", "user"} <= found
    engine = db.make_sync_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version_hello")).all() == [
            ("h001",)
        ]
        core_heads = conn.execute(sa.text("select version_num from alembic_version")).all()
    engine.dispose()
    assert core_heads and core_heads != [("h001",)]

    # Off: the instance starts without it; on again: nothing is applied twice.
    start_instance(tmp_path / "b", database_url).stop()
    start_instance(tmp_path / "c", database_url, plugins={"enabled": ["hello"]}).stop()
    assert "hello_greeting" in tables(database_url)


def run_salon(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SALON, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_salon_cli_commands(site: Path, tmp_path: Path, sqlite_url: str) -> None:
    """Enabled plugins' commands join ``salon``; a disabled plugin's are not offered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(PACKAGES), str(Path.cwd())])
    on = write_config(
        tmp_path / "on", sqlite_url, plugins={"enabled": ["hello"], "hello": {"greeting": "hi"}}
    )
    off = write_config(tmp_path / "off", sqlite_url)

    listed = run_salon("--help", env={**env, "SALON_CONFIG": str(on)}, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "hello" in listed.stdout and "Greet NAME" in listed.stdout
    greeted = run_salon("hello", "ada", env={**env, "SALON_CONFIG": str(on)}, cwd=tmp_path)
    assert (greeted.returncode, greeted.stdout.strip()) == (0, "hi, ada"), greeted.stderr

    refused = run_salon("hello", "ada", env={**env, "SALON_CONFIG": str(off)}, cwd=tmp_path)
    assert refused.returncode == 2
    assert "No such command 'hello'" in refused.stderr
    plain = run_salon("--help", env={**env, "SALON_CONFIG": str(off)}, cwd=tmp_path)
    assert "hello" not in plain.stdout.split("Commands:")[1]


def test_salon_web_dirs(site: Path, tmp_path: Path, sqlite_url: str) -> None:
    """A plugin's static files are served under /static/plugins/<name>/ and its templates
    render inside the site's layout."""
    server = start_instance(
        tmp_path, sqlite_url, plugins={"enabled": ["hello"], "hello": {"greeting": "howdy"}}
    )
    try:
        with server.client() as http:
            script = http.get("/static/plugins/hello/hello.js")
            assert script.status_code == 200 and "dataset.hello" in script.text
            assert http.get("/static/plugins/hello/missing.js").status_code == 404
            page = http.get("/hello")
            assert page.status_code == 200
            assert "howdy from a plugin's template" in page.text
            assert '<link rel="stylesheet" href="/static/salon.css">' in page.text  # the layout
            assert http.get("/static/salon.css").status_code == 200  # core files still served
    finally:
        server.stop()


def test_salon_page_assets(site: Path, tmp_path: Path, sqlite_url: str) -> None:
    """What a plugin adds to a page appears on that page only, and nothing without it."""
    server = start_instance(tmp_path / "on", sqlite_url, plugins={"enabled": ["hello"]})
    try:
        with server.client() as http:
            hallway = http.get("/").text
            assert '<script type="module" src="/static/plugins/hello/hello.js">' in hallway
            assert '<a href="/hello">Hello</a>' in hallway
            login = http.get("/login").text
            assert "/static/plugins/hello/hello.js" not in login
    finally:
        server.stop()
    plain = start_instance(tmp_path / "off", sqlite_url)
    try:
        with plain.client() as http:
            assert "/static/plugins/hello" not in http.get("/").text
    finally:
        plain.stop()
