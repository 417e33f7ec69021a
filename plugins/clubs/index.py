"""What the per-room hooks need to know, a few queries per hallway instead of a few
per room: which live or scheduled rooms belong to which club, and which clubs a viewer
belongs to or follows.

The hallway asks ``salon_room_extras``, ``salon_hallway_rank`` and (for members-only
rooms) ``salon_permission`` once per listed room; answering each with its own queries
made a 150-room hallway take a second. The index holds the answers for ``TTL`` seconds
and is cleared at once by this process's own club writes, so another worker's writes
show within ``TTL``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlmodel import select

from salon.core.db import Database
from salon.core.models import RoomRow
from salon.core.rooms import Room, RoomState

from .models import Club, ClubFollow, ClubMember, ClubRoom, Status

TTL = 1.0
ACTIVE_STATES = (RoomState.LIVE.value, RoomState.SCHEDULED.value)


@dataclass(frozen=True)
class RoomLink:
    """A club room: its club and whether it is for members only."""

    club_id: int
    handle: str
    name: str
    members_only: bool


@dataclass(frozen=True)
class ViewerClubs:
    member_of: frozenset[int]  # clubs where the viewer is an active member
    following: frozenset[int]


class ClubIndex:
    def __init__(self, db: Database, ttl: float = TTL):
        self.db = db
        self.ttl = ttl
        self._links: dict[int, RoomLink] | None = None
        self._links_at = 0.0
        self._viewers: dict[int, tuple[float, ViewerClubs]] = {}
        # Club handles, for hooks that must answer "is NAME a club?" without awaiting
        # (firstresult hooks: an awaitable would claim every name). Handles never change.
        self.handles: set[str] = set()

    async def load_handles(self) -> None:
        async with self.db.session() as session:
            self.handles = set((await session.exec(select(Club.handle))).all())

    def invalidate(self) -> None:
        self._links = None
        self._viewers.clear()

    async def link(self, room: Room) -> RoomLink | None:
        """ROOM's club, if it has one."""
        if room.state is RoomState.ENDED:  # not held: ended rooms are asked for one by one
            return (await self._load(ClubRoom.room_id == room.id)).get(room.id)
        now = time.monotonic()
        if self._links is None or now - self._links_at > self.ttl:
            self._links = await self._load(RoomRow.state.in_(ACTIVE_STATES))
            self._links_at = now
            await self.load_handles()  # clubs other workers created
        return self._links.get(room.id)

    async def _load(self, where: object) -> dict[int, RoomLink]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(ClubRoom.room_id, Club.id, Club.handle, Club.name, ClubRoom.members_only)
                    .join(Club, Club.id == ClubRoom.club_id)
                    .join(RoomRow, RoomRow.id == ClubRoom.room_id)
                    .where(where)
                )
            ).all()
        return {r[0]: RoomLink(r[1], r[2], r[3], r[4]) for r in rows}

    async def viewer(self, user_id: int) -> ViewerClubs:
        now = time.monotonic()
        cached = self._viewers.get(user_id)
        if cached is not None and now - cached[0] <= self.ttl:
            return cached[1]
        async with self.db.session() as session:
            member_of = (
                await session.exec(
                    select(ClubMember.club_id).where(
                        ClubMember.user_id == user_id, ClubMember.status == Status.ACTIVE.value
                    )
                )
            ).all()
            following = (
                await session.exec(select(ClubFollow.club_id).where(ClubFollow.user_id == user_id))
            ).all()
        found = ViewerClubs(frozenset(member_of), frozenset(following))
        if len(self._viewers) > 10_000:  # a bound, not an eviction policy: start again
            self._viewers.clear()
        self._viewers[user_id] = (now, found)
        return found
