"""The SFU with real aiortc peers: speakers publish tones, listeners decode and measure."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.sync.client import connect as ws_connect

from salon.plugins.audio_sfu import aiortc_private as private

from ...helpers import LiveServer, wait_for
from .conftest import bring_on_stage, join, open_room, unmute
from .peers import Peer, PeerLoop, ToneTrack

TIMEOUT = 20.0  # generous: a loaded two-core machine


def sfu_of(server: LiveServer) -> Any:
    return server.app.state.rooms.transport


def connected(*peers: Peer) -> None:
    wait_for(lambda: all(p.state == "connected" for p in peers), timeout=TIMEOUT)


def udp_ports_open(low: int, high: int) -> int:
    """UDP sockets of this machine bound to 127.0.0.1 on a port in [LOW, HIGH]."""
    count = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            host, port = line.split()[1].split(":")
            if host == "0100007F" and low <= int(port, 16) <= high:
                count += 1
    return count


def test_one_speaker_five_listeners_hear_440_byte_identical(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    host = server.signup("host")
    room_id = open_room(host)
    speaker = Peer(peer_loop, host, room_id, ToneTrack(440)).connect()
    listeners = []
    for i in range(5):
        api = server.signup(f"listener{i}")
        join(api, room_id)
        listeners.append(Peer(peer_loop, api, room_id).connect())
    connected(speaker, *listeners)

    for listener in listeners:
        wait_for(lambda listener=listener: listener.hears(440), timeout=TIMEOUT)
        (heard,) = listener.frequencies()
        assert abs(heard - 440) <= 5, heard
    # The speaker is not sent its own voice.
    assert speaker.packets_since(0) == 0

    # No re-encoding: every Opus payload a listener got is one the speaker sent.
    sent = set(speaker.sent_payloads.values())
    for listener in listeners:
        got = [p[5] for v in listener.slots for p in v.packets]
        assert len(got) > 20
        assert all(payload in sent for payload in got)

    # ICE ran over loopback on both ends, client and SFU.
    for peer in (speaker, *listeners):
        local, remote = peer.selected_pair()
        assert local[0] == "127.0.0.1" and remote[0] == "127.0.0.1", (local, remote)
    low, high = server.app.state.plugin_settings["audio_sfu"].udp_port_range
    for member in sfu_of(server).rooms[room_id].members.values():
        local, remote = private.selected_pair_addresses(member.conn.ice)
        assert local[0] == "127.0.0.1" and low <= local[1] <= high
        assert remote[0] == "127.0.0.1"


def test_two_speakers_are_both_heard(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    host, guest, listener_api = (server.signup(n) for n in ("host", "guest", "lis"))
    room_id = open_room(host)
    join(guest, room_id)
    bring_on_stage(host, room_id, guest)
    join(listener_api, room_id)
    a = Peer(peer_loop, host, room_id, ToneTrack(440)).connect()
    b = Peer(peer_loop, guest, room_id, ToneTrack(660)).connect()
    listener = Peer(peer_loop, listener_api, room_id).connect()
    connected(a, b, listener)

    wait_for(lambda: listener.hears(440) and listener.hears(660), timeout=TIMEOUT)
    # Each speaker hears the other one, not themselves.
    wait_for(lambda: a.frequencies() and b.frequencies(), timeout=TIMEOUT)
    assert a.hears(660) and not a.hears(440)
    assert b.hears(440) and not b.hears(660)


def test_moderator_mute_stops_forwarding_within_200_ms(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    host, sam, lis = (server.signup(n) for n in ("host", "sam", "lis"))
    room_id = open_room(host)
    unmute(host, room_id, host, muted=True)  # only Sam makes a sound
    join(sam, room_id)
    bring_on_stage(host, room_id, sam)
    join(lis, room_id)
    speaker = Peer(peer_loop, sam, room_id, ToneTrack(500)).connect()
    listener = Peer(peer_loop, lis, room_id).connect()
    moderator = Peer(peer_loop, host, room_id).connect()
    connected(speaker, listener, moderator)
    wait_for(lambda: listener.hears(500), timeout=TIMEOUT)

    sfu = sfu_of(server)
    (slot,) = [s for s in sfu.rooms[room_id].members[lis.id].conn.slots if s.packets]
    asked = time.time()
    unmute(host, room_id, sam, muted=True)
    answered = time.monotonic()
    forwarded = slot.packets
    time.sleep(0.6)  # a window in which any late packet would show up
    # The SFU forwarded its last packet of Sam within 200 ms of the moderator asking,
    # and nothing once the mute was answered; the listener got nothing more.
    assert slot.last_time - asked < 0.2, f"forwarded {slot.last_time - asked:.3f}s after"
    assert slot.packets == forwarded
    assert listener.packets_since(answered + 0.5) == 0
    stats = sfu.stats(room_id)[sam.id]
    assert stats["muted"] and stats["dropped_not_allowed"] > 0

    # The speaker's own client cannot undo a moderator's mute ...
    r = sam.post(f"/api/rooms/{room_id}/mute", {"user_id": sam.id, "muted": False})
    assert r.status_code in (403, 409), r.text
    # ... until a moderator lifts it and the speaker unmutes.
    unmute(host, room_id, sam, muted=False)
    unmute(sam, room_id, sam, muted=False)
    resumed = time.monotonic()
    wait_for(lambda: listener.packets_since(resumed) > 10, timeout=TIMEOUT)
    wait_for(lambda: listener.hears(500), timeout=TIMEOUT)


def test_promoted_listener_is_heard_and_demoted_is_not_forwarded(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    host, bea, lis = (server.signup(n) for n in ("host", "bea", "lis"))
    room_id = open_room(host)
    unmute(host, room_id, host, muted=True)
    join(bea, room_id)
    join(lis, room_id)
    # Bea's client would send even as a listener: the SFU does not forward it.
    tone = ToneTrack(550)
    bea_peer = Peer(peer_loop, bea, room_id, tone).connect()
    listener = Peer(peer_loop, lis, room_id).connect()
    connected(bea_peer, listener)
    sfu = sfu_of(server)
    wait_for(lambda: sfu.stats(room_id)[bea.id]["dropped_not_allowed"] > 25, timeout=TIMEOUT)
    assert listener.packets_since(0) == 0
    conn_before = sfu.rooms[room_id].members[bea.id].conn

    bring_on_stage(host, room_id, bea)
    wait_for(lambda: listener.hears(550), timeout=TIMEOUT)
    assert sfu.rooms[room_id].members[bea.id].conn is conn_before  # same connection

    refused = sfu.stats(room_id)[bea.id]["dropped_not_allowed"]
    (slot,) = [s for s in sfu.rooms[room_id].members[lis.id].conn.slots if s.packets]
    moving = time.time()
    r = host.post(f"/api/rooms/{room_id}/move-to-audience", {"user_id": bea.id})
    assert r.status_code == 200, r.text
    answered = time.monotonic()
    time.sleep(0.5)
    assert slot.last_time - moving < 0.2
    assert listener.packets_since(answered + 0.4) == 0
    wait_for(
        lambda: sfu.stats(room_id)[bea.id]["dropped_not_allowed"] > refused + 10, timeout=TIMEOUT
    )
    assert sfu.rooms[room_id].members[bea.id].conn is conn_before


def test_eight_on_stage_three_loudest_forwarded(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=3)
    host = server.signup("host")
    room_id = open_room(host)
    apis = [host]
    for i in range(7):
        api = server.signup(f"speaker{i}")
        join(api, room_id)
        bring_on_stage(host, room_id, api)
        apis.append(api)
    lis = server.signup("lis")
    join(lis, room_id)
    # Frequencies 300..1000 Hz; the three loudest are 500, 800 and 1000 Hz.
    loud = {500: 0.6, 800: 0.45, 1000: 0.35}
    peers = []
    for api, freq in zip(apis, range(300, 1001, 100), strict=True):
        peers.append(Peer(peer_loop, api, room_id, ToneTrack(freq, loud.get(freq, 0.01))).connect())
    listener = Peer(peer_loop, lis, room_id).connect()
    connected(listener, *peers)

    def three_loudest() -> bool:
        heard = listener.frequencies()
        return len(heard) == 3 and all(
            abs(h - f) <= 5 for h, f in zip(heard, sorted(loud), strict=True)
        )

    wait_for(three_loudest, timeout=TIMEOUT)
    assert len(listener.slots) == 3


def test_clean_up_on_leave_failure_and_room_end(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=2)
    low, high = server.app.state.plugin_settings["audio_sfu"].udp_port_range
    sfu = sfu_of(server)
    host = server.signup("host")
    room_id = open_room(host)
    apis = [server.signup(n) for n in ("ann", "ben", "cat")]
    for api in apis:
        join(api, room_id)
    speaker = Peer(peer_loop, host, room_id, ToneTrack(440)).connect()
    peers = [Peer(peer_loop, api, room_id).connect() for api in apis]
    connected(speaker, *peers)
    wait_for(lambda: all(p.hears(440) for p in peers), timeout=TIMEOUT)
    assert udp_ports_open(low, high) == 4

    def forwarded_to(member_id: int) -> bool:
        targets = sfu.rooms[room_id].members[host.id].targets
        return any(slot.conn.member.member_id == member_id for slot in targets)

    # Leaving: out of forwarding within 2 s, its socket closed.
    r = apis[0].post(f"/api/rooms/{room_id}/leave")
    assert r.status_code == 200, r.text
    wait_for(lambda: apis[0].id not in sfu.rooms[room_id].members, timeout=2)
    wait_for(lambda: udp_ports_open(low, high) == 3, timeout=2)

    # A connection that fails (here: the client goes away) is dropped within 2 s.
    peers[1].close()
    wait_for(lambda: not forwarded_to(apis[1].id), timeout=2)
    wait_for(lambda: sfu.rooms[room_id].members[apis[1].id].conn is None, timeout=2)
    assert forwarded_to(apis[2].id)

    # Ending the room frees every connection and port.
    r = host.post(f"/api/rooms/{room_id}/end")
    assert r.status_code == 200, r.text
    assert room_id not in sfu.rooms
    wait_for(lambda: udp_ports_open(low, high) == 0, timeout=5)
    wait_for(lambda: speaker.state in ("closed", "failed"), timeout=TIMEOUT)


def test_listeners_rtcp_is_truthful(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server(max_speakers_forwarded=1)
    host, lis = server.signup("host"), server.signup("lis")
    room_id = open_room(host)
    join(lis, room_id)
    speaker = Peer(peer_loop, host, room_id, ToneTrack(440)).connect()
    listener = Peer(peer_loop, lis, room_id).connect()
    connected(speaker, listener)
    (view,) = listener.slots
    wait_for(lambda: len(view.sender_reports) >= 2, timeout=TIMEOUT)

    t_report, report = view.sender_reports[-1]
    info = report.sender_info
    received = [p for p in view.packets if p[1] <= t_report]
    # The counts are those forwarded on this slot (all arrived: loopback).
    assert info.packet_count > 50
    assert abs(info.packet_count - len(received)) <= 3, (info.packet_count, len(received))
    assert info.octet_count == pytest.approx(sum(len(p[5]) for p in received), rel=0.05)
    # The RTP/NTP mapping: the report's RTP time matches the last packet's, moved on
    # by the wall-clock time between them.
    _, wall, _, _, rtp_ts, _ = received[-1]
    ntp_seconds = (
        (info.ntp_timestamp >> 32) - 2208988800 + (info.ntp_timestamp & 0xFFFFFFFF) / 2**32
    )
    predicted = rtp_ts + (ntp_seconds - wall) * 48000
    assert abs(((info.rtp_timestamp - predicted + 2**31) % 2**32) - 2**31) < 0.05 * 48000

    # The listener's receiver reports reach the SFU as per-listener figures.
    sfu = sfu_of(server)
    wait_for(lambda: sfu.stats(room_id)[lis.id]["slots"][0]["reports"] > 0, timeout=TIMEOUT)
    slot = sfu.stats(room_id)[lis.id]["slots"][0]
    assert slot["packets_lost"] == 0 and slot["speaker"] == host.id


def test_bad_offers_are_422_naming_sdp(make_sfu_server: Callable[..., LiveServer]) -> None:
    server = make_sfu_server()
    host = server.signup("host")
    room_id = open_room(host)
    path = f"/api/rooms/{room_id}/audio"
    for body in ({"type": "offer", "sdp": "hello"}, {"type": "offer", "sdp": "v=0\r\n"}):
        r = host.post(path, body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "sdp"
    r = host.post(path, {"type": "answer", "sdp": "v=0"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "type"
    config = host.get(path).json()
    assert config == {"ice_servers": [], "slots": 6}


def test_only_present_members_connect(make_sfu_server: Callable[..., LiveServer]) -> None:
    server = make_sfu_server()
    host, outsider = server.signup("host"), server.signup("outsider")
    room_id = open_room(host)
    path = f"/api/rooms/{room_id}/audio"
    assert outsider.get(path).status_code == 403
    assert outsider.post(path, {"type": "offer", "sdp": "v=0"}).status_code == 403
    with server.client() as anonymous:
        assert anonymous.get(path).status_code == 401


def test_speaking_indicator_rides_the_socket_without_sequence_numbers(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    server = make_sfu_server()
    host, lis = server.signup("host"), server.signup("lis")
    room_id = open_room(host)
    join(lis, room_id)
    url = f"{server.ws_url}/api/rooms/{room_id}/ws"
    with ws_connect(url, additional_headers=lis.ws_headers()) as ws:
        snapshot = json.loads(ws.recv(timeout=TIMEOUT))
        seq = snapshot["seq"]
        speaker = Peer(peer_loop, host, room_id, ToneTrack(440)).connect()
        messages: list[tuple[float, dict[str, Any]]] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=TIMEOUT))
            messages.append((time.monotonic(), msg))
            if msg.get("type") == "speaking" and host.id in msg["speaking"]:
                break
        else:
            pytest.fail(f"no speaking indicator; got {messages}")
        assert "seq" not in messages[-1][1] and messages[-1][1]["room_id"] == room_id
        # At most 5 a second (a steady speaker: a refresh once a second).
        watched = time.monotonic()
        count = 0
        while time.monotonic() - watched < 2.0:
            msg = json.loads(ws.recv(timeout=TIMEOUT))
            count += msg.get("type") == "speaking"
        assert count <= 10, count
        # An event after it carries the next sequence number: none were used up.
        unmute(host, room_id, host, muted=True)
        while True:
            msg = json.loads(ws.recv(timeout=TIMEOUT))
            if msg.get("type") == "event":
                assert msg["seq"] == seq + 1 and msg["kind"] == "mute_changed"
                break
        speaker.close()


def test_public_address_and_ice_servers(
    make_sfu_server: Callable[..., LiveServer], peer_loop: PeerLoop
) -> None:
    turn = {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}
    server = make_sfu_server(public_address="203.0.113.7", ice_servers=[turn])
    host = server.signup("host")
    room_id = open_room(host)
    assert host.get(f"/api/rooms/{room_id}/audio").json()["ice_servers"] == [turn]
    # The answer advertises the public address on a port of the range; the client
    # never uses it (no traffic leaves 127.0.0.0/8).
    peer = Peer(peer_loop, host, room_id)
    offer = peer_loop.run(peer._offer(1))
    r = host.post(f"/api/rooms/{room_id}/audio", {"type": "offer", "sdp": offer})
    assert r.status_code == 200, r.text
    candidates = [line.split() for line in r.json()["sdp"].splitlines() if "candidate:" in line]
    low, high = server.app.state.plugin_settings["audio_sfu"].udp_port_range
    assert candidates and all(c[4] == "203.0.113.7" and c[7] == "host" for c in candidates)
    assert all(low <= int(c[5]) <= high for c in candidates)
    peer.close()
