"""Who is connected to which room's socket, and leaving for those who went away.

A member whose last socket to a room closes, and who does not come back within the
grace period (``instance.leave_grace_seconds``), leaves the room: closing the tab is
leaving, while a dropped connection that reconnects loses nothing. After a restart
every socket is gone, so every member of a live room gets the same grace period to
come back; rooms whose people never return end instead of lingering in the hallway.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import TYPE_CHECKING

from sqlmodel import select

from .errors import SalonError
from .models import RoomMember, RoomRow, User
from .rooms import RoomState

if TYPE_CHECKING:
    from .room_service import RoomService

logger = logging.getLogger(__name__)


class Presence:
    def __init__(self, service: RoomService, grace_seconds: float):
        self.service = service
        self.grace = grace_seconds
        self._sockets: Counter[tuple[int, int]] = Counter()
        self._pending: dict[tuple[int, int], asyncio.Task[None]] = {}

    def connected(self, room_id: int, user_id: int | None) -> None:
        if user_id is None:
            return
        key = (room_id, user_id)
        self._sockets[key] += 1
        task = self._pending.pop(key, None)
        if task is not None:
            task.cancel()

    def disconnected(self, room_id: int, user_id: int | None) -> None:
        if user_id is None:
            return
        key = (room_id, user_id)
        self._sockets[key] -= 1
        if self._sockets[key] <= 0:
            del self._sockets[key]
            self._schedule(room_id, user_id)

    async def expect_returns(self) -> None:
        """At start-up: give every member of every live room the grace period."""
        async with self.service.db.session() as session:
            rows = (
                await session.exec(
                    select(RoomMember.room_id, RoomMember.user_id)
                    .join(RoomRow, RoomRow.id == RoomMember.room_id)
                    .where(RoomRow.state == RoomState.LIVE.value)
                )
            ).all()
        for room_id, user_id in rows:
            if (room_id, user_id) not in self._sockets:
                self._schedule(room_id, user_id)
        if rows:
            logger.info(
                "%d members of live rooms have %ss to reconnect after the restart",
                len(rows),
                self.grace,
            )

    def _schedule(self, room_id: int, user_id: int) -> None:
        key = (room_id, user_id)
        if key not in self._pending:
            self._pending[key] = asyncio.create_task(self._leave_later(room_id, user_id))

    async def _leave_later(self, room_id: int, user_id: int) -> None:
        try:
            await asyncio.sleep(self.grace)
            room = await self.service.load(room_id)
            if user_id not in room.members:
                return
            async with self.service.db.session() as session:
                user = await session.get(User, user_id)
            if user is not None:
                logger.info(
                    "user %s left room %s: socket gone for %ss", user_id, room_id, self.grace
                )
                await self.service.transition(room_id, user, lambda r: r.leave(user_id))
        except asyncio.CancelledError:
            raise
        except SalonError as exc:
            logger.info("user %s was already out of room %s: %s", user_id, room_id, exc.message)
        except Exception:
            logger.exception("could not take user %s out of room %s", user_id, room_id)
        finally:
            if self._pending.get((room_id, user_id)) is asyncio.current_task():
                del self._pending[(room_id, user_id)]

    async def stop(self) -> None:
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending.clear()
