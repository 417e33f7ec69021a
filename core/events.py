"""In-process pub/sub of room events, numbered per room, fanned out to sockets.

Each room's channel numbers its events 1, 2, 3, ... and keeps the last ``HISTORY``
of them, so a client that reconnects with ``?since=N`` receives what it missed. The
``epoch`` is fresh per process and room: after a restart the numbers start again, and
a client presenting another epoch receives a new snapshot instead of wrong events.

Publishing never blocks: each subscriber has a bounded queue; one that falls that
far behind is cut off (it reconnects with ``since`` and catches up or resyncs). A
message is serialised once, when published, whatever the number of sockets.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

HISTORY = 500
QUEUE_SIZE = 1000

# Close codes of the room socket (4000-4999 is the application's range).
CLOSE_RESYNC = 4000  # fell behind; reconnect with ?since= to catch up
CLOSE_ENDED = 4001  # the room ended
CLOSE_FORBIDDEN = 4003  # not (or no longer) allowed to follow this room
CLOSE_NOT_FOUND = 4004  # no such room


@dataclass(frozen=True)
class Message:
    """A numbered event and its JSON text, as sent on every socket."""

    seq: int
    body: dict[str, Any]
    text: str


@dataclass
class Subscription:
    room_id: int
    queue: asyncio.Queue[Message | None]
    user_id: int | None = None
    overflowed: bool = False
    close_code: int | None = None


@dataclass
class Channel:
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    seq: int = 0
    history: deque[Message] = field(default_factory=lambda: deque(maxlen=HISTORY))
    subscribers: set[int] = field(default_factory=set)


class EventHub:
    def __init__(self) -> None:
        self._channels: dict[int, Channel] = {}
        self._subs: dict[int, Subscription] = {}

    def channel(self, room_id: int) -> Channel:
        if room_id not in self._channels:
            self._channels[room_id] = Channel()
        return self._channels[room_id]

    def position(self, room_id: int) -> tuple[str, int]:
        ch = self.channel(room_id)
        return ch.epoch, ch.seq

    def publish(self, room_id: int, payload: dict[str, Any]) -> Message:
        """Number PAYLOAD with the room's next sequence number and hand it to every
        subscriber. Returns the numbered message."""
        ch = self.channel(room_id)
        ch.seq += 1
        body = {"type": "event", "seq": ch.seq, "epoch": ch.epoch, **payload}
        message = Message(ch.seq, body, json.dumps(body, separators=(",", ":")))
        ch.history.append(message)
        for key in list(ch.subscribers):
            sub = self._subs[key]
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                # Cut it off cleanly: it resumes from its last seq on reconnect.
                sub.overflowed = True
                self.unsubscribe(sub)
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                sub.queue.put_nowait(None)
        return message

    def broadcast(self, room_id: int, payload: dict[str, Any]) -> None:
        """Hand PAYLOAD (which names its own ``type``) to every subscriber of ROOM_ID
        as it is: ephemeral news such as speaking indicators, not numbered, not kept
        for replay. A subscriber whose queue is full misses it (and is not cut off)."""
        ch = self._channels.get(room_id)
        if ch is None or not ch.subscribers:
            return
        message = Message(0, payload, json.dumps(payload, separators=(",", ":")))
        for key in list(ch.subscribers):
            try:
                self._subs[key].queue.put_nowait(message)
            except asyncio.QueueFull:
                continue

    def missed(self, room_id: int, epoch: str, since: int) -> list[Message] | None:
        """Events after SINCE, or None when they are no longer held (resync needed)."""
        ch = self.channel(room_id)
        if epoch != ch.epoch or since > ch.seq or since < 0:
            return None
        if since == ch.seq:
            return []
        if not ch.history or ch.history[0].seq > since + 1:
            return None
        return [m for m in ch.history if m.seq > since]

    def subscribe(self, room_id: int, user_id: int | None = None) -> Subscription:
        sub = Subscription(
            room_id=room_id, queue=asyncio.Queue(maxsize=QUEUE_SIZE), user_id=user_id
        )
        self._subs[id(sub)] = sub
        self.channel(room_id).subscribers.add(id(sub))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.pop(id(sub), None)
        self.channel(sub.room_id).subscribers.discard(id(sub))

    def close_room(self, room_id: int, user_id: int | None = None, code: int | None = None) -> None:
        """End the stream for every subscriber of ROOM_ID (or only USER_ID's), after the
        messages already queued; CODE is the socket close code to use."""
        ch = self.channel(room_id)
        for key in list(ch.subscribers):
            sub = self._subs[key]
            if user_id is not None and sub.user_id != user_id:
                continue
            self.unsubscribe(sub)
            sub.close_code = code
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)
