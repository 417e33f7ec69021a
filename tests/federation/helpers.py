"""Helpers for federation's tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn
from http_message_signatures import HTTPSignatureKeyResolver

from salon.core.app import create_app
from salon.core.settings import load_settings
from tests.helpers import LiveServer, free_port, wait_for, write_config


class OneKey(HTTPSignatureKeyResolver):
    """A key resolver that knows one key."""

    def __init__(self, key_id: str, key: Any):
        self.key_id, self.key = key_id, key

    def resolve_public_key(self, key_id: str) -> Any:
        return self.key if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str) -> Any:
        return self.key if key_id == self.key_id else None


# Short delays so retries happen within a test; never sleeps standing in for waiting.
FAST = {
    "allowed_private_ranges": ["127.0.0.0/8"],
    "retry_base_seconds": 0.1,
    "retry_max_delay_seconds": 0.5,
    "retry_jitter": 0.0,
    "poll_seconds": 0.2,
    "circuit_breaker_failures": 1000,
    "workers": 2,
    "request_timeout_seconds": 5.0,
}


class Instance(LiveServer):
    """A LiveServer on a port chosen in advance, so ``instance.base_url`` is known
    before the app is built (federation identifiers derive from it) and the instance
    can come back on the same address after a stop."""

    def __init__(self, app: Any, port: int):
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def actor(self, username: str) -> str:
        return f"{self.url}/users/{username}"


class Cluster:
    """Starts, stops and restarts named instances."""

    def __init__(self, tmp_path: Path, new_database: Callable[[str], str]):
        self.tmp_path = tmp_path
        self.new_database = new_database
        self.running: dict[str, Instance] = {}
        self.config: dict[str, tuple[Path, int, list[tuple[str, ModuleType]]]] = {}

    def start(
        self,
        name: str,
        *,
        extra_plugins: list[tuple[str, ModuleType]] | None = None,
        enabled: list[str] | None = None,
        **federation: Any,
    ) -> Instance:
        port = free_port()
        directory = self.tmp_path / name
        path = write_config(
            directory,
            self.new_database(name),
            instance={"base_url": f"http://127.0.0.1:{port}", "name": f"Salon {name}"},
            plugins={
                "enabled": ["federation", *(enabled or [])],
                "federation": {**FAST, **federation},
            },
        )
        self.config[name] = (path, port, extra_plugins or [])
        return self._boot(name)

    def _boot(self, name: str) -> Instance:
        path, port, extra = self.config[name]
        app = create_app(load_settings(path), extra_plugins=extra)
        server = Instance(app, port).start()
        self.running[name] = server
        return server

    def stop(self, name: str) -> None:
        self.running.pop(name).stop()

    def restart(self, name: str) -> Instance:
        return self._boot(name)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def eventually(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    return wait_for(condition, timeout=timeout, interval=0.05)


def rows(server: LiveServer, query: str, **params: Any) -> list[Any]:
    """Rows of a SQL query on SERVER's own database (read from the test)."""
    from sqlalchemy import text

    from salon.core.db import make_sync_engine

    engine = make_sync_engine(server.app.state.settings.instance.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query), params))
    finally:
        engine.dispose()


def signing_key(server: LiveServer, actor: str) -> tuple[str, Any]:
    """(key id, private key) of a local actor of SERVER, making sure it exists first."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    with server.client() as client:  # fetching the actor creates its key
        assert client.get(actor, headers={"accept": "application/activity+json"}).status_code == 200
    ((key_id, pem),) = rows(
        server,
        "SELECT key_id, private_pem FROM federation_key WHERE actor = :a AND retired_at IS NULL",
        a=actor,
    )
    return key_id, load_pem_private_key(pem.encode(), password=None)
