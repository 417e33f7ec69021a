"""The SFU's fan-out cost, loss and added latency, beside two relays measured in the
same run.

One process runs the server under test, pinned to one core: the audio_sfu SFU
itself, or one of two baselines built from aiortc's own parts:

- ``relay``: the speaker's track through aiortc's ``MediaRelay`` to one sender per
  listener, with the Opus decoder replaced by a pass-through (packets are carried, not
  decoded; each sender re-packetises them);
- ``reencode``: the same with aiortc's real decoder, so every listener's sender encodes
  again (a decode-and-re-encode relay).

Other processes (pinned to the other cores) drive one speaker sending a 440 Hz tone
(50 packets/s) and N listeners that only count packets (no decoding). For each server
and N it prints the server's CPU time per forwarded packet (as counted by the server
itself: the SFU's slots, the relays' senders) *all-in* (everything the
process spent while forwarding, including the idle cost of the connections: RTCP and
ICE timers) and *above idle* (minus the same connections' cost with the speaker
silent), the listeners one core could serve at 50 packets/s, the loss, and the added
latency from a packet's arrival (decrypted, parsed) to its SRTP-protected copies being
handed to each listener's socket (median and p99; measured in a separate phase with
instrumentation, so it does not weigh on the CPU figures).

Run by hand (needs >= 2 cores; takes a few minutes):
``.venv/bin/python benchmarks/sfu_fanout.py [--sizes 50,100,200,400] [--seconds 8]
[--profile]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import fractions
import io
import json
import math
import multiprocessing as mp
import os
import pstats
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.rtp import RtpPacket, is_rtcp

from salon.plugins.audio_sfu import aiortc_private as private  # noqa: TID251
from salon.plugins.audio_sfu.settings import AudioSettings  # noqa: TID251
from salon.plugins.audio_sfu.sfu import SFU  # noqa: TID251

ROOM = 1
SPEAKER = 1
RATE = 48000


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the server process -----------------------------------------------------------------


class PassThroughDecoder:
    """Stands in for aiortc's Opus decoder: hands the encoded packet on as it is."""

    def decode(self, encoded_frame: Any) -> list[Any]:
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = fractions.Fraction(1, RATE)
        return [packet]


class Latency:
    """Arrival (decrypted, parsed) and departure (about to be protected) of payloads."""

    def __init__(self) -> None:
        self.on = False
        self.arrived: dict[bytes, float] = {}
        self.delays: list[float] = []

    def arrive(self, data: bytes) -> None:
        if self.on and not is_rtcp(data):
            self.arrived[RtpPacket.parse(data).payload] = time.perf_counter()

    def depart(self, payload: bytes) -> None:
        if self.on:
            t = self.arrived.get(payload)
            if t is not None:
                self.delays.append(time.perf_counter() - t)


def spy_sends(send: Any, latency: Latency) -> Any:
    """Wraps a connection's RTP send to time departures (latency phase only)."""

    def spied(first_byte2: int, seq: int, ts: int, ssrc: int, payload: bytes) -> bool:
        latency.depart(payload)
        return send(first_byte2, seq, ts, ssrc, payload)

    spied.original = send  # type: ignore[attr-defined]
    return spied


class RelayServer:
    """A baseline: the speaker's track relayed to one aiortc sender per listener."""

    def __init__(self, latency: Latency):
        self.latency = latency
        self.relay = MediaRelay()
        self.track: Any = None
        self.pcs: list[RTCPeerConnection] = []

    async def connect(self, member: int, offer: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)
        got_track = asyncio.get_running_loop().create_future()
        pc.on("track", lambda track: got_track.done() or got_track.set_result(track))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for t in pc.getTransceivers():
            if member == SPEAKER:
                t.direction = "recvonly"
            else:
                t.direction = "sendonly"
                t.sender.replaceTrack(self.relay.subscribe(self.track, buffered=False))
        for ice in {t.receiver.transport.transport for t in pc.getTransceivers()}:
            private.bind_host_candidates(ice, ["127.0.0.1"], None)
        await pc.setLocalDescription(await pc.createAnswer())
        dtls = pc.getTransceivers()[0].receiver.transport
        if member == SPEAKER:
            self.track = await got_track
            spy_arrivals(dtls, self.latency)
        else:
            private.on_sent_rtp(dtls, lambda data: self._sent(data))
        return pc.localDescription.sdp

    def _sent(self, data: bytes) -> None:
        if self.latency.on and not is_rtcp(data):
            self.latency.depart(RtpPacket.parse(data).payload)

    async def counts(self) -> dict[str, int]:
        forwarded = 0
        for pc in self.pcs:
            for sender in pc.getSenders():
                if sender.track is not None:
                    for stat in (await sender.getStats()).values():
                        if stat.type == "outbound-rtp":
                            forwarded += stat.packetsSent
        return {
            "connected": sum(1 for pc in self.pcs if pc.connectionState == "connected"),
            "forwarded": forwarded,
        }


def spy_arrivals(dtls: Any, latency: Latency) -> None:
    """Benchmark instrumentation: time each decrypted RTP packet of the speaker."""
    original = dtls._handle_rtp_data

    async def handle(data: bytes, arrival_time_ms: int) -> None:
        latency.arrive(data)
        await original(data, arrival_time_ms=arrival_time_ms)

    dtls._handle_rtp_data = handle


class SfuServer:
    def __init__(self, latency: Latency, ports: tuple[int, int]):
        self.latency = latency
        settings = AudioSettings(loopback_only=True, udp_port_range=ports, max_speakers_forwarded=1)
        self.sfu = SFU(settings, publish=lambda room_id, payload: None)
        self.sfu.open(ROOM)

    async def connect(self, member: int, offer: str) -> str:
        role = "host" if member == SPEAKER else "listener"
        answer = await self.sfu.connect(ROOM, member, role, offer)
        self.sfu.set_role(ROOM, member, role)
        self.sfu.set_muted(ROOM, member, member != SPEAKER)
        conn = self.sfu.rooms[ROOM].members[member].conn
        if member == SPEAKER:
            spy_arrivals(conn.dtls, self.latency)
        return answer

    def instrument(self, on: bool) -> None:
        for m in self.sfu.rooms[ROOM].members.values():
            conn = m.conn
            if conn is None or conn.send is None:
                continue
            spied = hasattr(conn.send, "original")
            if on and not spied:
                conn.send = spy_sends(conn.send, self.latency)
            elif not on and spied:
                conn.send = conn.send.original

    async def counts(self) -> dict[str, int]:
        members = self.sfu.rooms[ROOM].members.values()
        slots = [s for m in members if m.conn for s in m.conn.slots]
        return {
            "connected": sum(1 for m in members if m.conn and m.conn.send),
            "forwarded": sum(s.packets for s in slots),
            "dropped": sum(s.dropped for s in slots),
        }


async def serve(mode: str, port: int, ports: tuple[int, int], profile: bool) -> None:
    latency = Latency()
    if mode == "sfu":
        server: Any = SfuServer(latency, ports)
    else:
        if mode == "relay":
            import aiortc.rtcrtpreceiver as receiver_module

            receiver_module.get_decoder = lambda codec: PassThroughDecoder()
        server = RelayServer(latency)
    profilers = [cProfile.Profile()] if profile else []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            cmd = json.loads(line)
            reply: dict[str, Any] = {}
            if cmd["cmd"] == "connect":
                reply["answer"] = await server.connect(cmd["member"], cmd["offer"])
            elif cmd["cmd"] == "cpu":
                # Counting costs CPU too: "cpu" is read before it, "cpu_after" after,
                # so a window from one answer's cpu_after to the next one's cpu leaves
                # it out.
                cpu, wall = cpu_seconds(), time.perf_counter()
                counts = await server.counts()
                reply = {"cpu": cpu, "cpu_after": cpu_seconds(), "wall": wall, **counts}
            elif cmd["cmd"] == "latency":
                latency.on = cmd["on"]
                if isinstance(server, SfuServer):
                    server.instrument(cmd["on"])
                if cmd["on"]:
                    latency.delays.clear()
                    latency.arrived.clear()
                reply = summary(latency.delays) if not cmd["on"] else {}
            elif cmd["cmd"] == "profile" and profilers:
                if cmd.get("reset"):
                    profilers[0] = cProfile.Profile()
                profiler = profilers[0]
                if cmd["on"]:
                    profiler.enable()
                else:
                    profiler.disable()
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(16)
                    reply = {"profile": out.getvalue()}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()

    await asyncio.start_server(handle, "127.0.0.1", port)
    await asyncio.Event().wait()


def summary(delays: list[float]) -> dict[str, float]:
    delays = sorted(delays)
    if not delays:
        return {"median": float("nan"), "p99": float("nan"), "count": 0}
    return {
        "median": statistics.median(delays),
        "p99": delays[int(len(delays) * 0.99)],
        "count": len(delays),
    }


def server_main(mode: str, port: int, ports: tuple[int, int], core: int, profile: bool) -> None:
    os.sched_setaffinity(0, {core})
    asyncio.run(serve(mode, port, ports, profile))


# -- the client processes ---------------------------------------------------------------


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.start: float | None = None
        self.silent = True

    async def recv(self) -> av.AudioFrame:
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        while self.silent:  # paused: nothing is sent (the idle phase)
            await asyncio.sleep(0.02)
            self.start = time.monotonic() - self.sent / RATE
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        step = 2 * math.pi * 440 / RATE
        samples = [int(8000 * math.sin(step * (self.sent + i))) for i in range(960)]
        frame.planes[0].update(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
        frame.sample_rate = RATE
        frame.pts = self.sent
        frame.time_base = fractions.Fraction(1, RATE)
        self.sent += 960
        return frame


class Counter:
    """A listener's receiving side that only counts packets (no jitter buffer, no
    decoder), so the listeners are not the bottleneck."""

    def __init__(self, dtls: Any):
        self.dtls = dtls
        self.packets = 0

    async def start(self, parameters: Any) -> None:
        private.register_rtp_sink(self.dtls, self, parameters)

    async def _handle_rtp_packet(self, packet: Any, arrival_time_ms: int) -> None:
        self.packets += 1

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        """A cheap listener counts audio packets only; RTCP is not its business."""

    def _handle_disconnect(self) -> None:
        """Nothing to release: the connection's own close ends the run."""


async def signal(port: int, member: int, offer: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((json.dumps({"cmd": "connect", "member": member, "offer": offer}) + "\n").encode())
    answer = json.loads(await reader.readline())["answer"]
    writer.close()
    return answer


async def client_peer(port: int, member: int, tone: Tone | None) -> tuple[Any, Counter | None]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if tone is not None:
        t = pc.addTransceiver("audio", direction="sendonly")
        t.sender.replaceTrack(tone)
        counter = None
    else:
        t = pc.addTransceiver("audio", direction="recvonly")
        counter = Counter(t.receiver.transport)
        private.take_over_receiver(t.receiver, counter.start)
    private.bind_host_candidates(t.receiver.transport.transport, ["127.0.0.1"], None)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signal(port, member, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc, counter


async def clients(port: int, first: int, count: int, with_speaker: bool, pipe: Any) -> None:
    tone = Tone() if with_speaker else None
    peers = []
    if with_speaker:
        peers.append(await client_peer(port, SPEAKER, tone))
    for i in range(count):
        peers.append(await client_peer(port, first + i, None))
    pipe.send("ready")
    while True:
        cmd = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        if cmd == "speak":
            tone.silent = False  # type: ignore[union-attr]
            pipe.send(tone.sent)  # type: ignore[union-attr]
        elif cmd == "hush":
            tone.silent = True  # type: ignore[union-attr]
            await asyncio.sleep(0.1)
            pipe.send(tone.sent // 960)  # type: ignore[union-attr]
        elif cmd == "count":
            pipe.send(sum(c.packets for _, c in peers if c is not None))
        elif cmd == "states":
            pipe.send(sum(1 for pc, _ in peers if pc.connectionState == "connected"))
        elif cmd == "stop":
            for pc, _ in peers:
                await pc.close()
            pipe.send("stopped")
            return


def client_main(
    port: int, first: int, count: int, with_speaker: bool, cores: set[int], pipe: Any
) -> None:
    os.sched_setaffinity(0, cores)
    asyncio.run(clients(port, first, count, with_speaker, pipe))


# -- the orchestra ------------------------------------------------------------------------


class Control:
    def __init__(self, port: int):
        self.port = port

    def ask(self, **cmd: Any) -> dict[str, Any]:
        async def go() -> dict[str, Any]:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write((json.dumps(cmd) + "\n").encode())
            reply = json.loads(await reader.readline())
            writer.close()
            return reply

        return asyncio.run(go())


def wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out setting up")
        time.sleep(0.2)


def run_one(mode: str, n: int, seconds: float, profile: bool) -> dict[str, Any]:
    from tests.helpers import free_port

    cores = sorted(os.sched_getaffinity(0))
    server_core, client_cores = cores[0], set(cores[1:]) or {cores[0]}
    port = free_port()
    low = 20000 + (os.getpid() % 50) * 400
    server = mp.Process(
        target=server_main, args=(mode, port, (low, low + n + 50), server_core, profile)
    )
    server.start()
    control = Control(port)
    wait(lambda: _up(control), 20)
    # Two client processes: the speaker with half the listeners, the other half.
    half = n // 2
    pipes, procs = [], []
    for first, count, speaker in ((2, half, True), (2 + half, n - half, False)):
        ours, theirs = mp.Pipe()
        p = mp.Process(target=client_main, args=(port, first, count, speaker, client_cores, theirs))
        p.start()
        assert ours.poll(300), "clients did not connect"
        ours.recv()
        pipes.append(ours)
        procs.append(p)

    def connected() -> bool:
        for pipe in pipes:
            pipe.send("states")
        return sum(pipe.recv() for pipe in pipes) == n + 1

    wait(connected, 120)
    time.sleep(2)  # let start-up settle
    speaker = pipes[0]

    window: dict[str, int] = {}

    def phase(speak: bool) -> tuple[float, float, int, int]:
        before_count = _count(pipes)
        if speak:
            speaker.send("speak")
            speaker.recv()
        a = control.ask(cmd="cpu")
        time.sleep(seconds)
        b = control.ask(cmd="cpu")
        sent = 0
        if speak:
            speaker.send("hush")
            sent = speaker.recv()
        time.sleep(0.3)
        received = _count(pipes) - before_count
        for key in ("forwarded", "dropped"):
            if key in b:
                window[key] = b[key] - a[key]
        return b["cpu"] - a["cpu_after"], b["wall"] - a["wall"], received, sent

    idle_cpu, idle_wall, _, _ = phase(False)
    speaker.send("hush")
    sent_before = speaker.recv()
    busy_cpu, busy_wall, received, sent_after = phase(True)
    sent = sent_after - sent_before
    # Latency, instrumented, in its own phase; then the profile, in another.
    control.ask(cmd="latency", on=True)
    speaker.send("speak")
    speaker.recv()
    time.sleep(min(seconds, 4))
    speaker.send("hush")
    speaker.recv()
    delays = control.ask(cmd="latency", on=False)
    prof = ""
    if profile:
        control.ask(cmd="profile", on=True)
        time.sleep(min(seconds, 4))
        prof = "idle:\n" + control.ask(cmd="profile", on=False).get("profile", "")
        control.ask(cmd="profile", on=True, reset=True)
        speaker.send("speak")
        speaker.recv()
        time.sleep(min(seconds, 4))
        speaker.send("hush")
        speaker.recv()
        prof += "speaking:\n" + control.ask(cmd="profile", on=False).get("profile", "")
    for pipe in pipes:
        pipe.send("stop")
        pipe.poll(30) and pipe.recv()
    for p in procs:
        p.join(10)
        p.kill()
    server.kill()
    server.join()

    idle_per_s = idle_cpu / idle_wall
    # Packets the server sent to listeners inside the measured window (its own counts).
    forwarded = window.get("forwarded", received)
    all_in = busy_cpu / forwarded * 1e6 if forwarded else float("inf")
    above = (busy_cpu - idle_per_s * busy_wall) / forwarded * 1e6 if forwarded else float("inf")
    expected = sent * n
    return {
        "mode": mode,
        "n": n,
        "all_in_us": all_in,
        "above_idle_us": above,
        "idle_us_per_conn_s": idle_per_s / (n + 1) * 1e6,
        "busy_core": busy_cpu / busy_wall,
        "per_core": 1e6 / (all_in * 50) if forwarded else 0,
        "loss": 1 - received / expected if expected else 1.0,
        "lat_median_ms": delays["median"] * 1e3,
        "lat_p99_ms": delays["p99"] * 1e3,
        "profile": prof,
        "server_drops": window.get("dropped"),
    }


def _up(control: Control) -> bool:
    try:
        control.ask(cmd="cpu")
        return True
    except OSError:
        return False


def _count(pipes: list[Any]) -> int:
    for pipe in pipes:
        pipe.send("count")
    return sum(pipe.recv() for pipe in pipes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,100,200,400")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--modes", default="sfu,relay,reencode")
    parser.add_argument("--reencode-max", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print the SFU's top functions")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs at least 2 cores: the server on one, the clients on the others")
    mp.set_start_method("spawn")
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for n in sizes:
        for mode in modes:
            if mode == "reencode" and n > args.reencode_max:
                continue
            print(f"... {mode} N={n}", file=sys.stderr, flush=True)
            rows[(mode, n)] = run_one(mode, n, args.seconds, args.profile and mode == "sfu")
    print(
        f"\nmachine: {os.cpu_count()} cores; server pinned to 1 core; "
        f"{args.seconds:.0f} s per phase"
    )
    header = (
        f"{'server':<9}{'N':>5}{'all-in µs/pkt':>15}{'above idle':>12}{'idle µs/s/conn':>16}"
        f"{'core busy':>11}{'listeners/core':>16}{'loss':>8}{'srv drops':>10}"
        f"{'lat med ms':>12}{'p99 ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for (mode, n), r in rows.items():
        print(
            f"{mode:<9}{n:>5}{r['all_in_us']:>15.1f}{r['above_idle_us']:>12.1f}"
            f"{r['idle_us_per_conn_s']:>16.0f}{r['busy_core']:>10.0%}{r['per_core']:>16.0f}"
            f"{r['loss']:>8.1%}{'-' if r['server_drops'] is None else r['server_drops']:>10}"
            f"{r['lat_median_ms']:>12.2f}{r['lat_p99_ms']:>9.2f}"
        )
    print("\nratios (baseline all-in / sfu all-in):")
    for n in sizes:
        sfu = rows.get(("sfu", n))
        for base in ("relay", "reencode"):
            other = rows.get((base, n))
            if sfu and other:
                print(f"  N={n:<4} {base:<9} {other['all_in_us'] / sfu['all_in_us']:.1f}x")
    if args.profile:
        for (mode, n), r in rows.items():
            if r["profile"]:
                print(f"\nprofile: {mode} N={n} (cProfile, speaking, by own time)\n{r['profile']}")


if __name__ == "__main__":
    main()
