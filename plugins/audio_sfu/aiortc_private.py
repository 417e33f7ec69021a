"""Every place the SFU reaches inside aiortc and aioice, and nowhere else.

The SFU uses aiortc for what it does well (SDP, ICE, DTLS, SRTP keys, RTCP parsing)
and takes media at the RTP level: a speaker's packets are handed to the SFU as soon
as they are decrypted and parsed, before aiortc's jitter buffer and decoder; a
listener's packets are SRTP-protected with that listener's key and written straight
to the selected ICE pair's socket. That needs the private attributes and behaviours
below, each marked ``TOUCH``. The versions they were read against are pinned in
``pyproject.toml`` and checked by :func:`check_touch_points` (at start-up and by the
tests), so an upgrade that moves one fails loudly instead of going quiet.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aioice
import aioice.ice
import aiortc
import pylibsrtp
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import RTCDtlsTransport, RTCIceTransport, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RtpRouter
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

PINNED = {"aiortc": "1.16.0", "aioice": "0.13.0", "pylibsrtp": "1.0.0"}
_RTP_HEADER = struct.Struct("!BBHII")

Start = Callable[[Any], Awaitable[None]]


class TouchPointMoved(RuntimeError):
    """aiortc or aioice no longer looks the way this module relies on."""


def check_touch_points() -> None:
    """Raise :class:`TouchPointMoved` naming every private part that moved."""
    problems = []
    versions = {
        "aiortc": aiortc.__version__,
        "aioice": aioice.__version__,
        "pylibsrtp": pylibsrtp.__version__,
    }
    for name, pinned in PINNED.items():
        if versions[name] != pinned:
            problems.append(f"{name} is {versions[name]}, this module was written for {pinned}")
    expected_methods: list[tuple[type, str, list[str]]] = [
        (RTCRtpSender, "send", ["self", "parameters"]),
        (RTCRtpReceiver, "receive", ["self", "parameters"]),
        (RTCDtlsTransport, "_register_rtp_sender", ["self", "sender", "parameters"]),
        (RTCDtlsTransport, "_unregister_rtp_sender", ["self", "sender"]),
        (RTCDtlsTransport, "_register_rtp_receiver", ["self", "receiver", "parameters"]),
        (RTCDtlsTransport, "_unregister_rtp_receiver", ["self", "receiver"]),
        (RtpRouter, "route_rtcp", ["self", "packet"]),
        (RtpRouter, "route_rtp", ["self", "packet"]),
        (
            aioice.Connection,
            "get_component_candidates",
            ["self", "component", "addresses", "timeout"],
        ),
        (aioice.Connection, "request_received", ["self", "message", "addr", "protocol"]),
        (aioice.ice.StunProtocol, "__init__", ["self", "receiver"]),
    ]
    for cls, name, params in expected_methods:
        fn = getattr(cls, name, None)
        if fn is None:
            problems.append(f"{cls.__name__}.{name} is gone")
            continue
        got = list(inspect.signature(fn).parameters)
        if got != params:
            problems.append(f"{cls.__name__}.{name} takes {got}, expected {params}")
    sources = [
        # The router finds a sender for RTCP by its ``_ssrc``.
        (RTCDtlsTransport._register_rtp_sender, "register_sender(sender, ssrc=sender._ssrc)"),
        # The receiver side is fed ``_handle_rtp_packet(packet, arrival_time_ms=...)``.
        (RTCDtlsTransport._handle_rtp_data, "receiver._handle_rtp_packet(packet, arrival_time_ms"),
        # Outgoing SRTP uses the session in ``_tx_srtp``.
        (RTCDtlsTransport._send_rtp, "self._tx_srtp.protect(data)"),
        # The ICE transport's aioice connection is ``_connection``.
        (RTCIceTransport.__init__, "self._connection = gatherer._connection"),
        # Gathering asks ``self.get_component_candidates(...)``, so an instance may override it.
        (aioice.Connection.gather_candidates, "self.get_component_candidates("),
        # Incoming checks arrive through ``receiver.request_received(...)``.
        (aioice.ice.StunProtocol.datagram_received, "self.receiver.request_received("),
        # The selected pair of component 1 is ``_nominated[1]``.
        (aioice.Connection.sendto, "self._nominated.get(component)"),
        # Sockets the connection owns (closed with it) are in ``_protocols``.
        (aioice.Connection.close, "for protocol in self._protocols"),
        # pylibsrtp protects in its work buffer ``_cdata`` with the context ``_srtp[0]``.
        (pylibsrtp.Session.__init__, 'self._cdata = ffi.new("char[]", 1500)'),
        (pylibsrtp.Session.__init__, "self._buffer = ffi.buffer(self._cdata)"),
        (pylibsrtp.Session.protect, "lib.srtp_protect"),
    ]
    for fn, needle in sources:
        try:
            source = inspect.getsource(fn)
        except (TypeError, OSError):
            problems.append(f"the source of {fn!r} cannot be read")
            continue
        if needle not in source:
            problems.append(f"{fn.__qualname__} no longer contains {needle!r}")
    if problems:
        raise TouchPointMoved("aiortc/aioice moved under the SFU: " + "; ".join(problems))


# -- media: starting senders and receivers ourselves ------------------------------------


def take_over_sender(sender: RTCRtpSender, start: Start) -> None:
    """TOUCH: RTCPeerConnection starts a sending transceiver by calling
    ``sender.send(parameters)`` once DTLS is up. An instance attribute replaces it, so
    aiortc's RTP loop (which polls every 20 ms without a track) and its RTCP loop
    (which would report zero packets) never run; START receives the negotiated
    RTCRtpSendParameters (ssrc, payload type, cname) instead."""
    sender.send = start  # type: ignore[method-assign]


def take_over_receiver(receiver: RTCRtpReceiver, start: Start) -> None:
    """TOUCH: likewise ``receiver.receive(parameters)`` starts aiortc's decoder thread,
    jitter buffer and RTCP loop; START gets the RTCRtpReceiveParameters instead."""
    receiver.receive = start  # type: ignore[method-assign]


def register_rtcp_sink(dtls: RTCDtlsTransport, sink: Any, parameters: Any) -> None:
    """TOUCH: the DTLS transport's RTP router hands RTCP about SSRC ``sink._ssrc``
    (receiver reports, NACK, PLI) to ``await sink._handle_rtcp_packet(packet)``."""
    dtls._register_rtp_sender(sink, parameters)


def unregister_rtcp_sink(dtls: RTCDtlsTransport, sink: Any) -> None:
    """TOUCH: the reverse of :func:`register_rtcp_sink`."""
    dtls._unregister_rtp_sender(sink)


def register_rtp_sink(dtls: RTCDtlsTransport, sink: Any, parameters: Any) -> None:
    """TOUCH: the router hands each decrypted, parsed RTP packet of the negotiated
    payload types to ``await sink._handle_rtp_packet(packet, arrival_time_ms=...)``,
    sender reports to ``sink._handle_rtcp_packet`` and a lost DTLS session to
    ``sink._handle_disconnect()``."""
    dtls._register_rtp_receiver(sink, parameters)


def unregister_rtp_sink(dtls: RTCDtlsTransport, sink: Any) -> None:
    """TOUCH: the reverse of :func:`register_rtp_sink`."""
    dtls._unregister_rtp_receiver(sink)


def srtp_session(dtls: RTCDtlsTransport) -> Any:
    """TOUCH: the pylibsrtp Session that protects outgoing RTP and RTCP, set once the
    DTLS handshake is done (None before)."""
    return dtls._tx_srtp


def local_ssrc(transceiver: Any) -> int:
    """TOUCH: the SSRC aiortc chose for a transceiver's sending side (``_ssrc``), which
    is also what its receiving side reports from."""
    return transceiver.sender._ssrc


def selected_socket(
    ice: RTCIceTransport,
) -> tuple[asyncio.DatagramTransport, tuple[str, int]] | None:
    """TOUCH: the selected (nominated) candidate pair of component 1 in aioice: its
    local socket's asyncio transport and the remote address. Writing there directly
    skips two coroutine hops per packet; None until a pair is nominated."""
    pair = ice._connection._nominated.get(1)
    if pair is None or getattr(pair.protocol, "transport", None) is None:
        return None
    return pair.protocol.transport, pair.remote_addr


SendRtp = Callable[[int, int, int, int, bytes], bool]


def fast_rtp_sender(dtls: RTCDtlsTransport, ice: RTCIceTransport) -> tuple[SendRtp, Any] | None:
    """A function that builds one RTP packet (12-byte header: marker and payload type
    byte, sequence number, timestamp, SSRC; then PAYLOAD), SRTP-protects it in place
    with DTLS's outgoing session and writes it to the selected pair's socket, without
    allocating on the way. It returns False when the packet could not go (the socket's
    buffer is full: the packet is dropped, never queued). Also returns the socket to
    close when done. None until DTLS and ICE are both up.

    TOUCH: pylibsrtp's Session keeps its libsrtp context in ``_srtp`` and a 1500-byte
    work buffer in ``_cdata``/``_buffer`` (``Session.protect`` copies into it and
    allocates a length cell per call); the packet is written straight into that buffer.
    The socket is a duplicate of the selected pair's (see :func:`selected_socket`), so
    a full buffer shows as BlockingIOError instead of growing asyncio's queue.
    """
    session = srtp_session(dtls)
    selected = selected_socket(ice)
    if session is None or selected is None:
        return None
    transport, addr = selected
    sock = transport.get_extra_info("socket").dup()
    srtp = session._srtp[0]
    cdata = session._cdata
    buf = session._buffer
    view = memoryview(buf)
    length = _srtp_ffi.new("int *")
    protect = _srtp_lib.srtp_protect
    pack_into = _RTP_HEADER.pack_into
    sendto = sock.sendto
    limit = len(buf) - 16 - 12  # room for the header and libsrtp's trailer

    def send(first_byte2: int, seq: int, ts: int, ssrc: int, payload: bytes) -> bool:
        size = len(payload)
        if size > limit:
            return False
        pack_into(buf, 0, 0x80, first_byte2, seq, ts, ssrc)
        buf[12 : 12 + size] = payload
        length[0] = 12 + size
        if protect(srtp, cdata, length):
            return False
        try:
            sendto(view[: length[0]], addr)
        except OSError:
            return False
        return True

    return send, sock


def selected_pair_addresses(ice: RTCIceTransport) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """TOUCH: (local, remote) address of the selected pair, for tests and stats."""
    pair = ice._connection._nominated.get(1)
    if pair is None:
        return None
    return pair.local_addr, pair.remote_addr


# -- network: which sockets, which peers ---------------------------------------------------


class PortRange:
    """Hands out UDP ports of an inclusive range, round robin, for host candidates."""

    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self._next = low

    def candidates(self) -> Iterable[int]:
        size = self.high - self.low + 1
        start = self._next
        for i in range(size):
            port = self.low + (start - self.low + i) % size
            self._next = self.low + (port - self.low + 1) % size
            yield port


def bind_host_candidates(
    ice: RTCIceTransport,
    bind_to: list[str],
    ports: PortRange | None,
    announce: str | None = None,
) -> None:
    """Make the ICE transport gather exactly one host candidate per address in
    BIND_TO, bound to a port of PORTS (any port when None), advertised as ANNOUNCE
    when given (the public side of a 1:1 NAT). No server-reflexive or relayed
    candidates are gathered: a server needs none.

    TOUCH: ``Connection.gather_candidates`` calls ``self.get_component_candidates``,
    which an instance attribute overrides; sockets are ``StunProtocol(connection)``
    endpoints appended to ``connection._protocols`` so that closing the connection
    closes them.
    """
    connection = ice._connection

    async def get_component_candidates(
        component: int, addresses: list[str], timeout: int = 5
    ) -> list[Candidate]:
        # ADDRESSES (aioice's own host addresses) are deliberately ignored.
        loop = asyncio.get_running_loop()
        found: list[Candidate] = []
        for address in bind_to:
            transport = protocol = None
            for port in ports.candidates() if ports else [0]:
                try:
                    transport, protocol = await loop.create_datagram_endpoint(
                        lambda: aioice.ice.StunProtocol(connection), local_addr=(address, port)
                    )
                    break
                except OSError:
                    continue
            if protocol is None:
                raise OSError(f"no free UDP port on {address} in the configured range")
            host, port = transport.get_extra_info("sockname")[:2]
            shown = announce or host
            protocol.local_candidate = Candidate(
                foundation=candidate_foundation("host", "udp", shown),
                component=component,
                transport="udp",
                priority=candidate_priority(component, "host"),
                host=shown,
                port=port,
                type="host",
            )
            connection._protocols.append(protocol)
            found.append(protocol.local_candidate)
        return found

    connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]


def accept_checks_only_from(ice: RTCIceTransport, allowed: Callable[[str], bool]) -> None:
    """Ignore ICE connectivity checks whose source address ALLOWED refuses, so no
    peer-reflexive candidate is learnt from elsewhere.

    TOUCH: aioice's StunProtocol hands incoming STUN requests to
    ``connection.request_received(message, addr, protocol)``; an instance attribute
    filters them.
    """
    connection = ice._connection
    original = connection.request_received

    def request_received(message: Any, addr: tuple[str, int], protocol: Any) -> None:
        if allowed(addr[0]):
            original(message, addr, protocol)

    connection.request_received = request_received  # type: ignore[method-assign]


def is_loopback(host: str) -> bool:
    if host.startswith("127.") or host == "::1":  # the common case, cheaply
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # an mDNS name or garbage: not loopback


# -- for tests and the benchmark: watching packets on a client peer ------------------------


def on_received_rtp(receiver: RTCRtpReceiver, callback: Callable[[Any], None]) -> None:
    """Call CALLBACK with every RTP packet RECEIVER gets, before its jitter buffer.

    TOUCH: the router feeds ``receiver._handle_rtp_packet(packet, arrival_time_ms)``;
    an instance attribute wraps it.
    """
    original = receiver._handle_rtp_packet

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        callback(packet)
        await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]


def on_sent_rtp(dtls: RTCDtlsTransport, callback: Callable[[bytes], None]) -> None:
    """Call CALLBACK with every plain RTP/RTCP datagram DTLS is about to protect.

    TOUCH: senders write through ``dtls._send_rtp(data)``; an instance attribute wraps it.
    """
    original = dtls._send_rtp

    async def send(data: bytes) -> None:
        callback(data)
        await original(data)

    dtls._send_rtp = send  # type: ignore[method-assign]


def on_received_rtcp(receiver: RTCRtpReceiver, callback: Callable[[Any], None]) -> None:
    """Call CALLBACK with every RTCP packet routed to RECEIVER (sender reports...).

    TOUCH: the router feeds ``receiver._handle_rtcp_packet(packet)``; an instance
    attribute wraps it.
    """
    original = receiver._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        callback(packet)
        await original(packet)

    receiver._handle_rtcp_packet = handle  # type: ignore[method-assign]
