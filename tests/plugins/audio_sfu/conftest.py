"""Fixtures for the SFU's tests: a Salon instance running audio_sfu over loopback, and
an event loop thread for the aiortc client peers."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ...helpers import Api, LiveServer, start_instance
from .peers import PeerLoop


def port_range() -> list[int]:
    """A block of 200 UDP ports for one test instance, below the kernel's ephemeral
    range (so no other socket lands there and counting them means something)."""
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    low = random.randrange(20000, min(ephemeral_low, 32000) - 200, 200)
    return [low, low + 199]


@pytest.fixture
def make_sfu_server(tmp_path: Path, sqlite_url: str) -> Iterator[Callable[..., LiveServer]]:
    """``make_sfu_server(max_speakers_forwarded=3)``: an instance with audio_sfu enabled,
    loopback only. The SFU is about media, not the database: SQLite only."""
    started: list[LiveServer] = []

    def make(**audio: Any) -> LiveServer:
        settings = {"loopback_only": True, "udp_port_range": port_range(), **audio}
        server = start_instance(
            tmp_path / f"instance{len(started)}",
            sqlite_url,
            plugins={"enabled": ["audio_sfu"], "audio_sfu": settings},
        )
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def peer_loop() -> Iterator[PeerLoop]:
    loop = PeerLoop()
    yield loop
    loop.stop()


def open_room(host: Api) -> int:
    """HOST opens a room and turns their microphone on; the room's id."""
    room_id = host.open_room("Tones")["id"]
    unmute(host, room_id, host)
    return room_id


def unmute(actor: Api, room_id: int, who: Api, muted: bool = False) -> None:
    r = actor.post(f"/api/rooms/{room_id}/mute", {"user_id": who.id, "muted": muted})
    assert r.status_code == 200, r.text


def join(api: Api, room_id: int) -> None:
    r = api.post(f"/api/rooms/{room_id}/join")
    assert r.status_code == 200, r.text


def bring_on_stage(host: Api, room_id: int, who: Api) -> None:
    """WHO (already in the room) is invited, accepts and unmutes."""
    r = host.post(f"/api/rooms/{room_id}/invite-to-speak", {"user_id": who.id})
    assert r.status_code == 200, r.text
    r = who.post(f"/api/rooms/{room_id}/invitation/accept")
    assert r.status_code == 200, r.text
    unmute(who, room_id, who)
