"""The selective forwarding unit: rooms, member connections, the fan-out loop, slots.

Each member has one WebRTC connection. Its offer carries one sending audio m-line (the
microphone) and N receiving ones (the slots, ``max_speakers_forwarded``). A speaker's
Opus packets arrive already decrypted and parsed (aiortc_private explains how) and are
forwarded in one synchronous loop over that speaker's current slots: per listener a
12-byte header (that slot's SSRC, sequence number and timestamp offsets, its payload
type), SRTP protect with the listener's key, a ``sendto`` on the listener's socket. No
decoding, no jitter buffer, no task or queue per listener; a listener whose socket
buffer is full loses the packet (counted) and never delays the others.

Which speakers fill a listener's slots is decided from the RFC 6464 audio level each
speaker's browser puts in every packet's header extension (read, never decoded):
the loudest recently active speakers, with a preference for those already forwarded
so slots do not flap. A room's tick (every 200 ms) re-ranks, publishes who is
speaking (at most 5 messages a second), and once a second sends each connection the
RTCP it is owed: sender reports with the counts actually forwarded on each slot and
the matching RTP/NTP times, and receiver reports to speakers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import (
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpSdesPacket,
    RtcpSenderInfo,
    RtcpSourceInfo,
    RtcpSrPacket,
)

from salon.core.errors import Unavailable

from . import aiortc_private as private
from .settings import AudioSettings

logger = logging.getLogger(__name__)

OPUS_RATE = 48000
TICK = 0.2  # seconds between a room's re-ranking and speaking updates
RTCP_TICKS = 10  # RTCP once every this many ticks (every 2 s; browsers send theirs every ~5 s)
SPEAKING_REFRESH_TICKS = 5  # who is speaking is repeated once a second for new sockets
SPEAKING_LEVEL = 50  # an audio level of -50 dBov or louder counts as speaking
SPEAKING_HOLD = 0.4  # seconds a speaker stays "speaking" after their last loud packet
ACTIVE_HOLD = 2.0  # seconds without packets before a speaker leaves the ranking
STICKY = 6.0  # dB of preference for a speaker who already holds slots
LEVEL_ALPHA = 0.1  # smoothing of the per-packet audio level
SENDER_HOLD = 5.0  # a slot sends sender reports until this long after its last packet
NTP_EPOCH = 2208988800
STAGE_ROLES = frozenset({"host", "moderator", "speaker"})

Publish = Callable[[int, dict[str, Any]], None]


def ntp_time(now: float) -> int:
    """A wall-clock time as a 64-bit NTP timestamp."""
    return int((now + NTP_EPOCH) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


class Slot:
    """One downstream audio track of a listener's connection."""

    def __init__(self, conn: Connection, index: int):
        self.conn = conn
        self.index = index
        # TOUCH (named for aiortc's RTP router): RTCP about this SSRC comes here.
        self._ssrc = 0
        self.pt = 111
        self.cname = ""
        self.speaker: Member | None = None
        self.fresh = True  # the next forwarded packet starts a new mapping
        self.seq_offset = 0
        self.ts_offset = 0
        self.last_seq = random.randrange(1 << 15)
        self.last_ts = random.randrange(1 << 32)
        self.last_time = 0.0  # wall-clock time of the last forwarded packet
        self.packets = 0
        self.octets = 0
        self.dropped = 0
        # From the listener's receiver reports.
        self.fraction_lost = 0
        self.packets_lost = 0
        self.jitter = 0
        self.reports = 0
        self.started = False

    async def start(self, parameters: Any) -> None:
        """Stands in for aiortc's ``RTCRtpSender.send`` once DTLS is up."""
        self._ssrc = parameters.rtcp.ssrc
        self.pt = parameters.codecs[0].payloadType
        self.cname = parameters.rtcp.cname or ""
        private.register_rtcp_sink(self.conn.dtls, self, parameters)
        self.started = True
        self.conn.room.rebuild_targets()

    def assign(self, speaker: Member | None) -> None:
        self.speaker = speaker
        self.fresh = True

    def remap(self, seq: int, ts: int, now: float) -> None:
        """Continue this slot's sequence and timeline with a new speaker's packets."""
        gap = int((now - self.last_time) * OPUS_RATE) if self.last_time else 960
        self.seq_offset = (self.last_seq + 1 - seq) & 0xFFFF
        self.ts_offset = (self.last_ts + max(gap, 960) - ts) & 0xFFFFFFFF

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        """TOUCH (called by aiortc's RTP router): the listener's reports on this slot."""
        for report in getattr(packet, "reports", ()):
            if report.ssrc == self._ssrc:
                self.fraction_lost = report.fraction_lost
                self.packets_lost = report.packets_lost
                self.jitter = report.jitter
                self.reports += 1

    def sender_report(self) -> list[Any]:
        """A truthful SR for this slot: the counts forwarded on it, and the RTP time
        that corresponds to now on its timeline."""
        wall = time.time()
        rtp_now = (self.last_ts + int((wall - self.last_time) * OPUS_RATE)) & 0xFFFFFFFF
        return [
            RtcpSrPacket(
                ssrc=self._ssrc,
                sender_info=RtcpSenderInfo(
                    ntp_timestamp=ntp_time(wall),
                    rtp_timestamp=rtp_now,
                    packet_count=self.packets & 0xFFFFFFFF,
                    octet_count=self.octets & 0xFFFFFFFF,
                ),
            ),
            RtcpSdesPacket(
                chunks=[RtcpSourceInfo(ssrc=self._ssrc, items=[(1, self.cname.encode())])]
            ),
        ]


class MicTap:
    """The receiving side of a member's microphone m-line: packets go to the room."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.rtcp_ssrc = 0
        self.opus_pts: set[int] = set()
        self.stats: StreamStatistics | None = None
        self.remote_ssrc: int | None = None
        self.lsr = 0
        self.lsr_time = 0.0

    async def start(self, parameters: Any) -> None:
        """Stands in for aiortc's ``RTCRtpReceiver.receive`` once DTLS is up."""
        self.opus_pts = {
            c.payloadType for c in parameters.codecs if c.mimeType.lower() == "audio/opus"
        }
        private.register_rtp_sink(self.conn.dtls, self, parameters)

    async def _handle_rtp_packet(self, packet: Any, arrival_time_ms: int) -> None:
        """TOUCH (called by aiortc's RTP router): one decrypted, parsed packet."""
        if self.stats is None or packet.ssrc != self.remote_ssrc:
            self.stats = StreamStatistics(OPUS_RATE)
            self.remote_ssrc = packet.ssrc
        self.stats.add(packet)
        if packet.payload_type in self.opus_pts and self.conn.member.conn is self.conn:
            self.conn.room.forward(self.conn.member, packet)

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        """TOUCH (router): the speaker's sender reports, for the LSR of our RR."""
        if isinstance(packet, RtcpSrPacket):
            self.lsr = (packet.sender_info.ntp_timestamp >> 16) & 0xFFFFFFFF
            self.lsr_time = time.time()

    def _handle_disconnect(self) -> None:
        """TOUCH (router): the DTLS session ended; the connection's state says so too."""

    def receiver_report(self) -> list[Any]:
        if self.stats is None or self.remote_ssrc is None:
            return []
        dlsr = int((time.time() - self.lsr_time) * 65536) if self.lsr else 0
        return [
            RtcpRrPacket(
                ssrc=self.rtcp_ssrc,
                reports=[
                    RtcpReceiverInfo(
                        ssrc=self.remote_ssrc,
                        fraction_lost=self.stats.fraction_lost,
                        packets_lost=self.stats.packets_lost,
                        highest_sequence=self.stats.max_seq,
                        jitter=self.stats.jitter,
                        lsr=self.lsr,
                        dlsr=dlsr if 0 < dlsr < (1 << 32) else 0,
                    )
                ],
            )
        ]


class Connection:
    """One member's peer connection, and where to write its packets once connected."""

    def __init__(self, room: Room, member: Member, pc: RTCPeerConnection):
        self.room = room
        self.member = member
        self.pc = pc
        self.slots: list[Slot] = []
        self.tap: MicTap | None = None
        self.dtls: Any = None
        self.ice: Any = None
        # The hot path's way out, filled in once connected; RTCP goes the slow way.
        self.send: private.SendRtp | None = None
        self.sock: Any = None
        self.srtp: Any = None
        self.udp: asyncio.DatagramTransport | None = None
        self.addr: tuple[str, int] | None = None
        self.closed = False

    def resolve_output(self) -> bool:
        if self.send is not None:
            return True
        if self.closed:
            return False
        fast = private.fast_rtp_sender(self.dtls, self.ice)
        selected = private.selected_socket(self.ice)
        if fast is None or selected is None:
            return False
        self.srtp = private.srtp_session(self.dtls)
        self.udp, self.addr = selected
        self.send, self.sock = fast
        return True

    def send_rtcp(self, packets: list[Any]) -> None:
        if not packets or self.udp is None or self.udp.is_closing():
            return
        data = b"".join(bytes(p) for p in packets)
        try:
            self.udp.sendto(self.srtp.protect_rtcp(data), self.addr)
        except Exception:  # a closing socket or SRTP refusing: RTCP is best effort
            logger.debug("RTCP to member %s not sent", self.member.member_id, exc_info=True)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.send = None
        self.udp = None
        if self.sock is not None:
            self.sock.close()
        await self.pc.close()


@dataclass(eq=False)
class Member:
    member_id: int
    role: str = "listener"
    muted: bool = True
    conn: Connection | None = None
    # As a speaker.
    level: float = 0.0  # smoothed loudness, 0 (silence) .. 127 (0 dBov)
    last_packet: float = 0.0
    last_voice: float = 0.0
    ranked: bool = False
    targets: list[Slot] = field(default_factory=list)
    packets_in: int = 0
    dropped_not_allowed: int = 0

    @property
    def may_speak(self) -> bool:
        return self.role in STAGE_ROLES and not self.muted


class Room:
    def __init__(self, sfu: SFU, room_id: int):
        self.sfu = sfu
        self.room_id = room_id
        self.members: dict[int, Member] = {}
        self.ranking: list[Member] = []
        self.dirty = True  # members, roles or connections changed since the last reassign
        self.speaking: list[int] = []
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None

    def member(self, member_id: int) -> Member:
        if member_id not in self.members:
            self.members[member_id] = Member(member_id)
        return self.members[member_id]

    def ensure_running(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    # -- the hot path -----------------------------------------------------------------

    def forward(self, speaker: Member, packet: Any) -> None:
        """Fan one speaker packet out to the slots it is mapped to."""
        now = time.monotonic()
        speaker.packets_in += 1
        speaker.last_packet = now
        level = packet.extensions.audio_level
        if level is not None:
            speaker.level += (127 - level[1] - speaker.level) * LEVEL_ALPHA
            if level[1] <= SPEAKING_LEVEL:
                speaker.last_voice = now
        if not speaker.may_speak:
            speaker.dropped_not_allowed += 1
            return
        if not speaker.ranked:
            self.reassign()
        targets = speaker.targets
        if not targets:
            return
        payload = packet.payload
        seq = packet.sequence_number
        ts = packet.timestamp
        marker = packet.marker
        wall = time.time()
        size = len(payload)
        mark = 0x80 if marker else 0
        for slot in targets:
            send = slot.conn.send
            if send is None:
                slot.dropped += 1
                continue
            if slot.fresh:
                slot.remap(seq, ts, wall)
                slot.fresh = False
                first_byte2 = 0x80 | slot.pt
            else:
                first_byte2 = mark | slot.pt
            out_seq = (seq + slot.seq_offset) & 0xFFFF
            out_ts = (ts + slot.ts_offset) & 0xFFFFFFFF
            if send(first_byte2, out_seq, out_ts, slot._ssrc, payload):
                slot.packets += 1
                slot.octets += size
                slot.last_seq = out_seq
                slot.last_ts = out_ts
                slot.last_time = wall
            else:
                slot.dropped += 1

    # -- slots ------------------------------------------------------------------------------

    def reassign(self) -> None:
        """Rank the active speakers and fill every listener's slots with the loudest
        others, keeping speakers in the slots they hold."""
        now = time.monotonic()
        active = [
            m
            for m in self.members.values()
            if m.may_speak and m.conn is not None and now - m.last_packet < ACTIVE_HOLD
        ]
        active.sort(key=lambda m: m.level + (STICKY if m.targets else 0.0), reverse=True)
        if not self.dirty and active == self.ranking:
            return  # the same speakers in the same order: every slot stays as it is
        self.dirty = False
        for m in self.members.values():
            m.ranked = False
        for m in active:
            m.ranked = True
        self.ranking = active
        changed = False
        for listener in self.members.values():
            conn = listener.conn
            if conn is None or not conn.slots:
                continue
            want = [m for m in active if m is not listener][: len(conn.slots)]
            missing = set(want)
            free = []
            for slot in conn.slots:
                if slot.speaker in missing:
                    missing.discard(slot.speaker)
                else:
                    if slot.speaker is not None:
                        changed = True
                    slot.assign(None)
                    free.append(slot)
            for m in want:
                if m in missing:
                    free.pop(0).assign(m)
                    changed = True
        if changed:
            self.rebuild_targets()

    def changed(self) -> None:
        """Members, roles, mutes or connections changed: re-map the slots now."""
        self.dirty = True
        self.reassign()
        self.rebuild_targets()

    def rebuild_targets(self) -> None:
        targets: dict[int, list[Slot]] = {}
        for listener in self.members.values():
            if listener.conn is None:
                continue
            for slot in listener.conn.slots:
                if slot.speaker is not None and slot.started:
                    targets.setdefault(slot.speaker.member_id, []).append(slot)
        for m in self.members.values():
            m.targets = targets.get(m.member_id, [])

    # -- the room's tick ------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                self.tick()
            except Exception:
                logger.exception("audio room %s: tick failed", self.room_id)

    def tick(self) -> None:
        self.ticks += 1
        for m in self.members.values():
            conn = m.conn
            if conn is not None and conn.send is None and conn.dtls and conn.resolve_output():
                self.rebuild_targets()
        self.reassign()
        now = time.monotonic()
        speaking = sorted(
            m.member_id
            for m in self.members.values()
            if m.may_speak and now - m.last_voice < SPEAKING_HOLD
        )
        # On every change, and once a second while someone speaks (for sockets that
        # joined since): never more than one message per tick.
        if speaking != self.speaking or (speaking and self.ticks % SPEAKING_REFRESH_TICKS == 0):
            self.speaking = speaking
            self.sfu.publish(
                self.room_id,
                {"type": "speaking", "room_id": self.room_id, "speaking": speaking},
            )
        if self.ticks % RTCP_TICKS == 0:
            self.send_rtcp()

    def send_rtcp(self) -> None:
        for m in self.members.values():
            conn = m.conn
            if conn is None or conn.udp is None:
                continue
            packets: list[Any] = []
            if conn.tap is not None:
                packets += conn.tap.receiver_report()
            recent = time.time() - SENDER_HOLD
            for slot in conn.slots:
                if slot.packets and slot.last_time > recent:
                    packets += slot.sender_report()
            conn.send_rtcp(packets)

    def levels(self) -> dict[int, float]:
        now = time.monotonic()
        return {
            m.member_id: round(m.level / 127, 3)
            for m in self.members.values()
            if m.may_speak and now - m.last_packet < ACTIVE_HOLD
        }

    async def drop(self, member_id: int) -> None:
        member = self.members.pop(member_id, None)
        if member is None:
            return
        conn, member.conn = member.conn, None
        self.changed()
        if conn is not None:
            await conn.close()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        for member_id in list(self.members):
            await self.drop(member_id)


class SFU:
    """The audio transport (DESIGN.md section 5) for every room of one instance."""

    def __init__(self, settings: AudioSettings, publish: Publish):
        self.settings = settings
        self.publish = publish
        self.rooms: dict[int, Room] = {}
        self.ports = private.PortRange(*settings.udp_port_range)
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop it runs on

    # -- the transport contract ---------------------------------------------------

    def open(self, room_id: int) -> None:
        self._room(room_id)

    async def close(self, room_id: int) -> None:
        room = self.rooms.pop(room_id, None)
        if room is not None:
            await room.close()

    async def disconnect(self, room_id: int, member_id: int) -> None:
        room = self.rooms.get(room_id)
        if room is not None:
            await room.drop(member_id)

    def set_role(self, room_id: int, member_id: int, role: str) -> None:
        room = self._room(room_id)
        room.member(member_id).role = role
        room.changed()

    def set_muted(self, room_id: int, member_id: int, muted: bool) -> None:
        room = self._room(room_id)
        room.member(member_id).muted = muted
        room.changed()

    def levels(self, room_id: int) -> dict[int, float]:
        room = self.rooms.get(room_id)
        return room.levels() if room else {}

    def client_config(self, room_id: int) -> dict[str, Any]:
        return {
            "ice_servers": [s.model_dump(exclude_none=True) for s in self.settings.ice_servers],
            "slots": self.settings.max_speakers_forwarded,
        }

    async def connect(self, room_id: int, member_id: int, role: str, offer: str) -> str:
        """Answer a member's offer: one sending m-line (their microphone) and up to
        ``max_speakers_forwarded`` receiving ones (the slots). A member who connects
        again replaces their previous connection."""
        self.loop = asyncio.get_running_loop()
        media = parse_offer(offer)
        if self.settings.loopback_only:
            offer = loopback_candidates_only(offer)
        room = self._room(room_id)
        member = room.member(member_id)
        member.role = role
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        conn = Connection(room, member, pc)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            self._claim_transceivers(conn, media)
            for ice in {t.receiver.transport.transport for t in pc.getTransceivers()}:
                private.bind_host_candidates(
                    ice, self._bind_addresses(), self.ports, self.settings.public_address
                )
                if self.settings.loopback_only:
                    private.accept_checks_only_from(ice, private.is_loopback)
            await pc.setLocalDescription(await pc.createAnswer())
        except OSError as exc:
            await pc.close()
            raise Unavailable(f"audio: {exc}") from None
        except Exception as exc:
            await pc.close()
            if isinstance(exc, ValueError):
                raise
            raise ValueError(f"the offer cannot be answered: {exc}") from None
        if member.conn is not None:
            await member.conn.close()
        member.conn = conn
        room.dirty = True
        pc.on("connectionstatechange", lambda: self._state_changed(conn))
        room.ensure_running()
        return pc.localDescription.sdp

    # -- inside ---------------------------------------------------------------------------

    def _room(self, room_id: int) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = Room(self, room_id)
        return room

    def _bind_addresses(self) -> list[str]:
        if self.settings.loopback_only:
            return ["127.0.0.1"]
        return aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) or ["127.0.0.1"]

    def _claim_transceivers(self, conn: Connection, media: dict[str, str]) -> None:
        for transceiver in conn.pc.getTransceivers():
            direction = media.get(transceiver.mid or "", "inactive")
            conn.dtls = transceiver.receiver.transport
            conn.ice = conn.dtls.transport
            if direction in ("sendonly", "sendrecv") and conn.tap is None:
                conn.tap = MicTap(conn)
                conn.tap.rtcp_ssrc = private.local_ssrc(transceiver)
                transceiver.direction = "recvonly"
                private.take_over_receiver(transceiver.receiver, conn.tap.start)
            elif direction == "recvonly" and len(conn.slots) < self.settings.max_speakers_forwarded:
                slot = Slot(conn, len(conn.slots))
                conn.slots.append(slot)
                transceiver.direction = "sendonly"
                private.take_over_sender(transceiver.sender, slot.start)
            else:
                transceiver.direction = "inactive"

    def _state_changed(self, conn: Connection) -> None:
        state = conn.pc.connectionState
        room = conn.room
        if state == "connected":
            conn.resolve_output()
            room.changed()
        elif state in ("failed", "closed") and conn.member.conn is conn:
            logger.info("audio: member %s's connection %s", conn.member.member_id, state)
            conn.member.conn = None
            room.changed()
            asyncio.get_running_loop().create_task(conn.close())

    async def shutdown(self) -> None:
        for room_id in list(self.rooms):
            await self.close(room_id)

    # -- figures -------------------------------------------------------------------------

    def stats(self, room_id: int) -> dict[int, dict[str, Any]]:
        """Per member: packets in, and per slot what was forwarded and what the
        listener reported (loss, jitter)."""
        room = self.rooms.get(room_id)
        if room is None:
            return {}
        out: dict[int, dict[str, Any]] = {}
        for m in room.members.values():
            slots = []
            if m.conn is not None:
                for s in m.conn.slots:
                    slots.append(
                        {
                            "speaker": s.speaker.member_id if s.speaker else None,
                            "ssrc": s._ssrc,
                            "packets": s.packets,
                            "octets": s.octets,
                            "dropped": s.dropped,
                            "fraction_lost": s.fraction_lost,
                            "packets_lost": s.packets_lost,
                            "jitter": s.jitter,
                            "reports": s.reports,
                        }
                    )
            out[m.member_id] = {
                "role": m.role,
                "muted": m.muted,
                "connected": m.conn is not None and m.conn.send is not None,
                "packets_in": m.packets_in,
                "dropped_not_allowed": m.dropped_not_allowed,
                "slots": slots,
            }
        return out


def parse_offer(offer: str) -> dict[str, str]:
    """The audio m-lines of OFFER by mid, with the direction the client offered;
    ValueError if it is not a usable audio offer."""
    try:
        description = aiortc_sdp.SessionDescription.parse(offer)
    except Exception as exc:
        raise ValueError(f"not a valid SDP offer ({exc.__class__.__name__})") from None
    media = {m.rtp.muxId: m.direction for m in description.media if m.kind == "audio"}
    if not media or None in media:
        raise ValueError("the offer must have audio m-lines, each with a mid")
    if any(m.kind != "audio" for m in description.media):
        raise ValueError("the offer may carry audio only")
    return media  # type: ignore[return-value]


def loopback_candidates_only(offer: str) -> str:
    """OFFER without the ICE candidates outside 127.0.0.0/8."""
    kept = []
    for line in offer.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            if len(parts) < 6 or parts[2].lower() != "udp" or not private.is_loopback(parts[4]):
                continue
        kept.append(line)
    return "\r\n".join(kept) + "\r\n"
