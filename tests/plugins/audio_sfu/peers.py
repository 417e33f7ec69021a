"""Real aiortc client peers for the SFU's tests: speakers that publish generated tones,
listeners that decode what they receive and measure its frequency.

The peers live on an event loop in a thread of their own (:class:`PeerLoop`), so the
tests stay synchronous, drive the HTTP API with ordinary clients and wait on
conditions with ``tests.helpers.wait_for``. Every peer gathers on 127.0.0.1 only.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import threading
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtcpSrPacket, RtpPacket, is_rtcp

from salon.plugins.audio_sfu import aiortc_private as private

from ...helpers import Api

RATE = 48000
FRAME = 960  # 20 ms


class PeerLoop:
    """An asyncio loop in a daemon thread; ``run`` a coroutine on it and wait."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


class ToneTrack(MediaStreamTrack):
    """A mono sine wave at FREQUENCY with peak AMPLITUDE (0..1), paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.5):
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self.sent = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.sent / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        step = 2 * math.pi * self.frequency / RATE
        peak = 32767 * self.amplitude
        samples = array.array(
            "h", (int(peak * math.sin(step * (self.sent + i))) for i in range(FRAME))
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = RATE
        frame.pts = self.sent
        frame.time_base = fractions.Fraction(1, RATE)
        self.sent += FRAME
        return frame


def frequency_of(samples: array.array) -> float | None:
    """The frequency of a clean tone, from its rising zero crossings (interpolated)."""
    crossings = []
    for i in range(1, len(samples)):
        a, b = samples[i - 1], samples[i]
        if a < 0 <= b:
            crossings.append(i - 1 + (-a) / (b - a))
    if len(crossings) < 10:
        return None
    return (len(crossings) - 1) * RATE / (crossings[-1] - crossings[0])


@dataclass
class SlotView:
    """What a listener peer sees on one downstream track."""

    receiver: Any
    # t (monotonic), t (wall clock), ssrc, seq, RTP timestamp, payload
    packets: list[tuple[float, float, int, int, int, bytes]] = field(default_factory=list)
    pcm: deque[array.array] = field(default_factory=lambda: deque(maxlen=100))  # 2 s of frames
    sender_reports: list[tuple[float, Any]] = field(default_factory=list)  # t, RtcpSrPacket
    frames: int = 0

    def recent_frequency(self, seconds: float = 0.5) -> float | None:
        frames = list(self.pcm)[-int(seconds * 50) :]
        if len(frames) < int(seconds * 50):
            return None
        mono = array.array("h")
        for frame in frames:
            mono.extend(frame)
        if max(abs(x) for x in mono) < 200:
            return None  # silence
        return frequency_of(mono)

    def packets_since(self, t: float) -> int:
        return sum(1 for p in self.packets if p[0] >= t)


class Peer:
    """One member's connection to the SFU, as an aiortc client."""

    def __init__(self, loop: PeerLoop, api: Api, room_id: int, tone: ToneTrack | None = None):
        self.loop = loop
        self.api = api
        self.room_id = room_id
        self.tone = tone
        self.pc: RTCPeerConnection | None = None
        self.mic: Any = None
        self.slots: list[SlotView] = []
        self.sent_payloads: dict[int, bytes] = {}  # seq -> payload, as the mic sent them
        self.drains: list[asyncio.Future[None]] = []

    def connect(self) -> Peer:
        r = self.api.get(f"/api/rooms/{self.room_id}/audio")
        assert r.status_code == 200, r.text
        config = r.json()
        offer = self.loop.run(self._offer(config["slots"]))
        r = self.api.post(f"/api/rooms/{self.room_id}/audio", {"type": "offer", "sdp": offer})
        assert r.status_code == 200, r.text
        self.loop.run(self._answer(r.json()["sdp"]))
        return self

    async def _offer(self, slots: int) -> str:
        self.pc = pc = RTCPeerConnection()
        self.mic = pc.addTransceiver("audio", direction="sendonly")
        if self.tone is not None:
            self.mic.sender.replaceTrack(self.tone)
        for _ in range(slots):
            t = pc.addTransceiver("audio", direction="recvonly")
            view = SlotView(t.receiver)
            private.on_received_rtp(t.receiver, self._recorder(view))
            private.on_received_rtcp(t.receiver, self._rtcp_recorder(view))
            self.slots.append(view)
        for ice in {t.receiver.transport.transport for t in pc.getTransceivers()}:
            private.bind_host_candidates(ice, ["127.0.0.1"], None)
        private.on_sent_rtp(self.mic.sender.transport, self._record_sent)
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp

    async def _answer(self, sdp: str) -> None:
        assert self.pc is not None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.drains = [asyncio.ensure_future(self._drain(view)) for view in self.slots]

    @staticmethod
    def _recorder(view: SlotView) -> Any:
        def record(packet: RtpPacket) -> None:
            view.packets.append(
                (
                    time.monotonic(),
                    time.time(),
                    packet.ssrc,
                    packet.sequence_number,
                    packet.timestamp,
                    packet.payload,
                )
            )

        return record

    @staticmethod
    def _rtcp_recorder(view: SlotView) -> Any:
        def record(packet: Any) -> None:
            if isinstance(packet, RtcpSrPacket):
                view.sender_reports.append((time.time(), packet))

        return record

    def _record_sent(self, data: bytes) -> None:
        if not is_rtcp(data):
            packet = RtpPacket.parse(data)
            self.sent_payloads[packet.sequence_number] = packet.payload

    async def _drain(self, view: SlotView) -> None:
        track = view.receiver.track
        try:
            while True:
                frame = await track.recv()
                channels = len(frame.layout.channels)
                pcm = array.array("h", bytes(frame.planes[0]))[: frame.samples * channels]
                view.pcm.append(pcm[::channels])
                view.frames += 1
        except (MediaStreamError, asyncio.CancelledError):
            return

    # -- looking at it -------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.pc.connectionState if self.pc else "new"

    def frequencies(self) -> list[float]:
        """The tones heard on the slots right now (silent slots left out)."""
        found = [v.recent_frequency() for v in self.slots]
        return sorted(f for f in found if f is not None)

    def hears(self, frequency: float, tolerance: float = 5.0) -> bool:
        return any(abs(f - frequency) <= tolerance for f in self.frequencies())

    def packets_since(self, t: float) -> int:
        return sum(v.packets_since(t) for v in self.slots)

    def selected_pair(self) -> Any:
        assert self.pc is not None
        ice = self.mic.receiver.transport.transport
        return private.selected_pair_addresses(ice)

    def close(self) -> None:
        if self.pc is not None:
            self.loop.run(self.pc.close())
