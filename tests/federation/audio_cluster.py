"""Two real instances with real audio for the end-to-end tests of rooms across servers.

Instance B hosts the room (carol, the host, and bob, a listener with an account on B);
instance A is alice's home. Both run federation and the audio_sfu plugin over loopback
only, each on its own block of UDP ports. The aiortc peers of
``tests/plugins/audio_sfu/peers.py`` drive the audio; a remote guest's peer is an
:class:`~tests.helpers.Api` holding the room-scoped Bearer token B handed out in
exchange for a join grant (:func:`guest_api`).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.helpers import Api, free_port, wait_for, write_config
from tests.plugins.audio_sfu.peers import Peer, PeerLoop

from .helpers import FAST, Cluster, Instance, eventually

TIMEOUT = 20.0  # generous: a loaded two-core machine


def udp_port_blocks(count: int) -> list[list[int]]:
    """COUNT distinct blocks of 200 UDP ports below the kernel's ephemeral range, one
    per instance's SFU (the blocks never overlap, so two SFUs never fight for a port)."""
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    starts = random.sample(range(20000, min(ephemeral_low, 32000) - 200, 200), count)
    return [[low, low + 199] for low in starts]


class AudioCluster(Cluster):
    """A :class:`Cluster` whose instances also run audio_sfu, loopback only."""

    def start(
        self,
        name: str,
        *,
        extra_plugins: list[tuple[str, Any]] | None = None,
        enabled: list[str] | None = None,
        audio: dict[str, Any] | None = None,
        **federation: Any,
    ) -> Instance:
        port = free_port()
        path = write_config(
            self.tmp_path / name,
            self.new_database(name),
            instance={"base_url": f"http://127.0.0.1:{port}", "name": f"Salon {name}"},
            plugins={
                "enabled": ["federation", "audio_sfu", *(enabled or [])],
                "federation": {**FAST, **federation},
                "audio_sfu": {"loopback_only": True, "max_speakers_forwarded": 2, **(audio or {})},
            },
        )
        self.config[name] = (path, port, extra_plugins or [])
        return self._boot(name)


@dataclass
class Pair:
    """A (alice's home) and B (the room's host instance), with their people."""

    a: Instance
    b: Instance
    alice: Api  # on A
    carol: Api  # on B: the host
    bob: Api  # on B: a local listener


@pytest.fixture
def audio_cluster(tmp_path: Path) -> Iterator[AudioCluster]:
    started = AudioCluster(tmp_path, lambda name: f"sqlite:///{tmp_path / f'{name}.db'}")
    yield started
    started.stop_all()


def start_pair(cluster: AudioCluster, **federation: Any) -> Pair:
    """Start A and B (FEDERATION settings on both) and sign up alice, carol and bob."""
    block_a, block_b = udp_port_blocks(2)
    a = cluster.start("A", audio={"udp_port_range": block_a}, **federation)
    b = cluster.start("B", audio={"udp_port_range": block_b}, **federation)
    return Pair(
        a=a,
        b=b,
        alice=a.signup("alice", display_name="Alice Anders"),
        carol=b.signup("carol", display_name="Carol Chen"),
        bob=b.signup("bob", display_name="Bob Berg"),
    )


@pytest.fixture
def pair(audio_cluster: AudioCluster) -> Pair:
    return start_pair(audio_cluster)


@pytest.fixture(scope="module")
def peer_loop() -> Iterator[PeerLoop]:
    loop = PeerLoop()
    yield loop
    loop.stop()


# -- following and the hallway -------------------------------------------------------


def follow_remote(follower: Api, actor: str) -> None:
    """FOLLOWER follows ACTOR on another instance; returns once the follow is accepted."""
    r = follower.post("/api/federation/follows", {"actor": actor})
    assert r.status_code == 202, r.text

    def accepted() -> bool:
        r = follower.get("/api/federation/lookup", params={"q": actor})
        assert r.status_code == 200, r.text
        return r.json()["follow_state"] == "accepted"

    eventually(accepted, timeout=TIMEOUT)


def room_uri(server: Instance, room_id: int) -> str:
    """The id of SERVER's room ROOM_ID as a federated object (also its web page)."""
    return f"{server.url}/rooms/{room_id}"


def hallway_item(viewer: Api, room_id_uri: str) -> dict[str, Any] | None:
    """The entry of VIEWER's hallway for the room object ROOM_ID_URI, if listed."""
    r = viewer.get("/api/hallway")
    assert r.status_code == 200, r.text
    return next((room for room in r.json()["rooms"] if room.get("id") == room_id_uri), None)


# -- grants and guests -----------------------------------------------------------------


def obtain_grant(home_user: Api, room_id_uri: str) -> dict[str, Any]:
    """HOME_USER asks their own instance for a join grant for a remote room."""
    r = home_user.post("/api/federation/grants", {"room": room_id_uri})
    assert r.status_code == 201, r.text
    return r.json()


def exchange_grant(host: Instance, grant: str) -> httpx.Response:
    """Hand GRANT to HOST's join endpoint, anonymously, as a browser or client would."""
    with host.client() as anonymous:
        return anonymous.post("/api/federation/join", json={"grant": grant})


def guest_api(host: Instance, joined: dict[str, Any]) -> Api:
    """An API client on HOST acting with the guest token of JOINED (the answer of
    ``POST /api/federation/join``): works with :class:`Peer` like a local account."""
    return Api(host, joined["user"], joined["token"])


def join_remote(home_user: Api, host: Instance, room_id_uri: str) -> Api:
    """The whole hop: a grant from the user's home, exchanged at HOST for a guest."""
    grant = obtain_grant(home_user, room_id_uri)["grant"]
    r = exchange_grant(host, grant)
    assert r.status_code == 200, r.text
    return guest_api(host, r.json())


def join_remote_page(room_id_uri: str) -> str:
    """The page of the home instance that turns a hallway click into a grant."""
    return f"/federation/join-remote?room={quote(room_id_uri, safe='')}"


# -- the room ---------------------------------------------------------------------------


def act(api: Api, room_id: int, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST ``/api/rooms/ROOM_ID/PATH`` as API; the room's state it answers."""
    r = api.post(f"/api/rooms/{room_id}/{path}", body or {})
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def mute(actor: Api, room_id: int, who_id: int, muted: bool) -> dict[str, Any]:
    return act(actor, room_id, "mute", {"user_id": who_id, "muted": muted})


def usernames(room: dict[str, Any], part: str) -> list[str]:
    """Usernames in PART ("stage" or "audience") of a room's JSON."""
    return [m["user"]["username"] for m in room[part] if m.get("user")]


def connected(*peers: Peer) -> None:
    eventually(lambda: all(p.state == "connected" for p in peers), timeout=TIMEOUT)


def stopped_receiving(count: Any, quiet_seconds: float = 0.5) -> bool:
    """Wait until COUNT() (a packet counter) stays the same for QUIET_SECONDS; True."""
    last = [-1]

    def settled() -> bool:
        before, last[0] = last[0], count()
        return before == last[0]

    return wait_for(settled, timeout=TIMEOUT, interval=quiet_seconds)


class RoomSocket:
    """A room socket (``/api/rooms/{id}/ws``) read in a thread of its own: the
    messages it got, and the close code once the server ends it."""

    def __init__(self, api: Api, room_id: int):
        self.url = f"{api.server.ws_url}/api/rooms/{room_id}/ws"
        self.headers = api.ws_headers()
        self.ws: ClientConnection | None = None
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        eventually(lambda: self.messages or self.closed.is_set(), timeout=TIMEOUT)

    def _read(self) -> None:
        try:
            with ws_connect(
                self.url, additional_headers=self.headers, open_timeout=TIMEOUT
            ) as self.ws:
                while True:
                    self.messages.append(json.loads(self.ws.recv()))
        except ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else None
        finally:
            self.closed.set()

    def kinds(self) -> list[str]:
        return [m.get("kind", "") for m in self.messages]

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        self.closed.wait(5)
