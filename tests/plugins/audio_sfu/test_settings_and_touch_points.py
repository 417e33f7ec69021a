"""The plugin's settings, and the aiortc/aioice parts it relies on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from salon.plugins.audio_sfu import aiortc_private as private
from salon.plugins.audio_sfu.settings import AudioSettings
from salon.plugins.audio_sfu.sfu import loopback_candidates_only, parse_offer

from ...helpers import LiveServer


def test_touch_points_are_where_they_were() -> None:
    private.check_touch_points()


def test_a_moved_touch_point_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(private.PINNED, "aiortc", "0.0.1")
    with pytest.raises(private.TouchPointMoved, match=r"aiortc is 1\.16\.0"):
        private.check_touch_points()
    monkeypatch.undo()
    monkeypatch.setattr(private.RTCDtlsTransport, "_register_rtp_sender", None, raising=True)
    with pytest.raises(private.TouchPointMoved, match="_register_rtp_sender"):
        private.check_touch_points()


def test_settings_defaults_and_refusals() -> None:
    s = AudioSettings()
    assert s.udp_port_range == (40000, 40100)
    assert s.public_address is None and s.loopback_only is False
    assert s.ice_servers == [] and s.max_speakers_forwarded == 6
    for bad, field in (
        ({"udp_port_range": [40100, 40000]}, "udp_port_range"),
        ({"udp_port_range": [80, 90]}, "udp_port_range"),
        ({"public_address": "example.org"}, "public_address"),
        ({"ice_servers": [{"urls": ["http://x"]}]}, "ice_servers"),
        ({"max_speakers_forwarded": 0}, "max_speakers_forwarded"),
        ({"max_speakers": 3}, "max_speakers"),
    ):
        with pytest.raises(ValidationError, match=field):
            AudioSettings.model_validate(bad)
    turn = {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}
    assert AudioSettings.model_validate({"ice_servers": [turn]}).ice_servers[0].username == "u"


OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendonly",
        "a=rtpmap:111 opus/48000/2",
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "a=candidate:2 1 udp 2122260223 10.1.2.3 50001 typ host",
        "a=candidate:3 1 udp 2122260223 abcd.local 50002 typ host",
        "a=candidate:4 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        "",
    ]
)


def test_loopback_mode_keeps_only_loopback_udp_candidates() -> None:
    kept = [line for line in loopback_candidates_only(OFFER).splitlines() if "candidate" in line]
    assert kept == ["a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"]
    assert parse_offer(OFFER) == {"0": "sendonly"}
    assert private.is_loopback("127.8.9.10") and not private.is_loopback("abcd.local")


def test_the_plugin_starts_with_its_defaults(make_sfu_server: Callable[..., LiveServer]) -> None:
    server = make_sfu_server(loopback_only=False, udp_port_range=[40000, 40100])
    with server.client() as client:
        plugins = {p["name"]: p for p in client.get("/api/plugins").json()["plugins"]}
    assert plugins["audio_sfu"]["state"] == "running", plugins["audio_sfu"]
    host = server.signup("host")
    room_id = host.open_room()["id"]
    assert host.get(f"/api/rooms/{room_id}/audio").json() == {"ice_servers": [], "slots": 6}
