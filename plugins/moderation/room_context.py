"""The recent events of each live room, kept in memory from ``salon_room_event`` so a
report filed from a room carries what was happening there."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from salon.core.rooms import ENDED, Room, RoomEvent

KEEP = 50


class RoomContext:
    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._events: dict[int, deque[dict[str, Any]]] = {}

    def record(self, room: Room, event: RoomEvent) -> None:
        if event.kind == ENDED:
            self._events.pop(room.id, None)
            return
        self._events.setdefault(room.id, deque(maxlen=self.keep)).append(
            {
                "at": datetime.now(UTC).isoformat(),
                "kind": event.kind,
                "user_id": event.user_id,
                "actor_id": event.actor_id,
            }
        )

    def recent(self, room_id: int) -> list[dict[str, Any]]:
        return list(self._events.get(room_id, ()))
