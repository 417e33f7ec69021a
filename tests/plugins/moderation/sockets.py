"""A room socket client for the moderation tests (the synchronous websockets client)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.helpers import Api, LiveServer


@contextmanager
def open_socket(server: LiveServer, room_id: int, who: Api) -> Iterator[ClientConnection]:
    """WHO's socket on the room, past its snapshot."""
    url = f"{server.ws_url}/api/rooms/{room_id}/ws"
    with connect(url, additional_headers=who.ws_headers()) as ws:
        first = json.loads(ws.recv(timeout=5))
        assert first["type"] == "snapshot", first
        yield ws


def wait_closed(ws: ClientConnection, timeout: float) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes the socket; return its close code and what came
    before. Fails if it is still open after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the socket is still open after {timeout}s; saw {seen}")
        try:
            seen.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), seen
