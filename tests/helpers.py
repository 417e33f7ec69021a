"""Test helpers: real servers on free ports, configs on disk, signed-in clients."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import tomli_w
import uvicorn
from starlette.applications import Starlette

from salon.core.app import create_app
from salon.core.settings import Settings, load_settings

PASSWORD = "correct horse battery"


def write_config(directory: Path, database_url: str, **sections: dict[str, Any]) -> Path:
    """Write a salon.toml for a test instance; SECTIONS update the defaults."""
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, dict[str, Any]] = {
        "instance": {
            "database_url": database_url,
            "secret_key": f"file:{directory / 'secret.key'}",
            "key_file": str(directory / "instance-key.pem"),
            "leave_grace_seconds": 30.0,
        },
        "plugins": {"enabled": []},
    }
    for name, values in sections.items():
        config.setdefault(name, {}).update(values)
    path = directory / "salon.toml"
    path.write_text(tomli_w.dumps(config))
    return path


def assert_error(
    r: httpx.Response, status: int, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """R is the JSON error answer every 4xx uses, with STATUS (and CODE, FIELD if given)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "field"}, error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


def wait_for(condition: Any, timeout: float = 10.0, interval: float = 0.01) -> Any:
    """Poll CONDITION until it returns a truthy value; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(base_url: str) -> bool:
    """Whether a Salon server answers ``GET /healthz`` with ok at BASE_URL."""
    try:
        r = httpx.get(f"{base_url}/healthz", timeout=2)
    except httpx.TransportError:
        return False
    return r.status_code == 200 and r.json() == {"status": "ok"}


def wait_until_serving(
    process: subprocess.Popen[str], base_url: str, *, timeout: float, interval: float = 0.1
) -> None:
    """Poll BASE_URL's /healthz until it answers; fail with PROCESS's output if it exits
    first (its stdout must be a text pipe)."""

    def up() -> bool:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the server exited {process.returncode}:\n{output}")
        return healthy(base_url)

    wait_for(up, timeout=timeout, interval=interval)


class LiveServer:
    """A real uvicorn server for APP on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app: Starlette):
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def settings(self) -> Settings:
        return self.app.state.settings

    def start(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), timeout=30)
        if not self.server.started:
            raise RuntimeError("the test server failed to start; see the log above")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def signup(self, username: str, *, password: str = PASSWORD, **extra: Any) -> Api:
        """Create an account and return an API client holding a Bearer token for it."""
        with self.client() as anonymous:
            r = anonymous.post(
                "/api/auth/signup", json={"username": username, "password": password, **extra}
            )
            assert r.status_code == 201, r.text
            user = r.json()
        with self.client() as fresh:
            r = fresh.post("/api/auth/token", json={"username": username, "password": password})
            assert r.status_code == 201, r.text
        return Api(self, user, r.json()["token"])

    def browser_session(self, username: str, *, password: str = PASSWORD) -> httpx.Client:
        """Sign up like the web client does: session cookie plus the CSRF header."""
        client = self.client()
        r = client.post("/api/auth/signup", json={"username": username, "password": password})
        assert r.status_code == 201, r.text
        client.headers["x-csrf-token"] = client.cookies["salon_csrf"]
        return client


class Api:
    """A signed-in API client: ``user`` is the account, ``http`` an httpx client."""

    def __init__(self, server: LiveServer, user: dict[str, Any], token: str):
        self.server = server
        self.user = user
        self.id: int = user["id"]
        self.username: str = user["username"]
        self.token = token
        self.http = server.client(token)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=json if json is not None else {}, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.http.patch(path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def open_room(self, title: str = "A room", **fields: Any) -> dict[str, Any]:
        r = self.post("/api/rooms", {"title": title, **fields})
        assert r.status_code == 201, r.text
        return r.json()

    def ws_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def start_instance(
    directory: Path,
    database_url: str,
    *,
    extra_plugins: Iterable[tuple[str, ModuleType]] = (),
    **sections: dict[str, Any],
) -> LiveServer:
    path = write_config(directory, database_url, **sections)
    app = create_app(load_settings(path), extra_plugins=extra_plugins)
    return LiveServer(app).start()
