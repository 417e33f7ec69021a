"""Club rooms: opening and scheduling them, weekly repeats, the club's schedule.

A club room is an ordinary core room (created through ``app.state.rooms``) linked to
its club in ``clubs_room`` with its time zone, whether it is for members only and
whether it repeats weekly.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from salon.core import permissions as core_perms
from salon.core import room_store
from salon.core.errors import ValidationFailed
from salon.core.models import RoomRow, User
from salon.core.rooms import Room, RoomState, Visibility

from . import policy
from .models import Club, ClubRoom
from .schemas import ClubRoomBody
from .service import ClubService

logger = logging.getLogger(__name__)


def parse_start(raw: str, zone: str) -> datetime:
    """SCHEDULED_FOR as an aware time: an offset in the text wins, else ZONE's."""
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "scheduled_for: must be an ISO 8601 date-time, e.g. 2026-12-01T18:00",
            field="scheduled_for",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    try:
        when = when.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed("scheduled_for: out of range", field="scheduled_for") from None
    if when < datetime.now(UTC) - timedelta(minutes=1):
        raise ValidationFailed(
            "scheduled_for: is in the past; pick a time from now on", field="scheduled_for"
        )
    return when


def next_week(start: datetime, zone: str, now: datetime) -> datetime:
    """The first weekly repeat of START after NOW, at the same wall-clock time in ZONE
    (so a 18:00 club night stays at 18:00 across daylight-saving changes)."""
    local = _aware(start).astimezone(ZoneInfo(zone)).replace(tzinfo=None)  # type: ignore[union-attr]
    while True:
        local += timedelta(days=7)
        candidate = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        if candidate > now:
            return candidate


class ClubRooms:
    """The rooms of an instance's clubs; built per request from a ClubService."""

    def __init__(self, clubs: ClubService):
        self.clubs = clubs
        self.core_rooms = clubs.rooms

    async def open_room(self, actor: User, club: Club, body: ClubRoomBody) -> dict[str, Any]:
        """Open a room for the club now, or schedule one."""
        await self.clubs.check(actor, policy.HOST_ROOM, club)
        start = parse_start(body.scheduled_for, body.timezone) if body.scheduled_for else None
        if body.weekly and start is None:
            raise ValidationFailed(
                "weekly: only a scheduled room repeats; give scheduled_for", field="weekly"
            )
        room = await self.core_rooms.create(
            actor,
            title=body.title,
            description=body.description,
            visibility=Visibility.MEMBERS if body.members_only else Visibility.OPEN,
            scheduled_for=start,
        )
        await self.link(club, room["id"], body.members_only, body.timezone, body.weekly)
        logger.info("%s opened room %s for club %s", actor.username, room["id"], club.handle)
        return await self.core_rooms.view(room["id"], actor)

    async def link(
        self, club: Club, room_id: int, members_only: bool, zone: str, weekly: bool
    ) -> None:
        async with self.clubs.db.session() as session:
            session.add(
                ClubRoom(
                    club_id=club.id,  # type: ignore[arg-type]
                    room_id=room_id,
                    members_only=members_only,
                    timezone=zone,
                    weekly=weekly,
                )
            )
            await session.commit()
        self.clubs._changed()

    async def schedule_next(self, room: Room) -> int | None:
        """A weekly club room opened: schedule next week's (once)."""
        async with self.clubs.db.session() as session:
            found = (
                await session.exec(
                    select(ClubRoom, Club)
                    .join(Club, Club.id == ClubRoom.club_id)
                    .where(ClubRoom.room_id == room.id, ClubRoom.weekly == True)  # noqa: E712
                )
            ).first()
            if found is None or room.scheduled_for is None:
                return None
            link, club = found
            link.weekly = False  # the series goes on from the next room
            session.add(link)
            await session.commit()
            creator = await session.get(User, room.creator_id)
        start = next_week(room.scheduled_for, link.timezone, datetime.now(UTC))
        nxt = await self.core_rooms.create(
            creator,
            title=room.title,
            description=room.description,
            visibility=room.visibility,
            scheduled_for=start,
        )
        await self.link(club, nxt["id"], link.members_only, link.timezone, True)
        logger.info("club %s: room %s repeats as room %s", club.handle, room.id, nxt["id"])
        return nxt["id"]

    async def club_rooms(
        self, viewer: User | None, club: Club, *, states: tuple[str, ...] = ("live", "scheduled")
    ) -> list[tuple[ClubRoom, RoomRow, Room]]:
        """The club's rooms in STATES that VIEWER may see, live first, then by start."""
        async with self.clubs.db.session() as session:
            pairs = (
                await session.exec(
                    select(ClubRoom, RoomRow)
                    .join(RoomRow, RoomRow.id == ClubRoom.room_id)
                    .where(ClubRoom.club_id == club.id, RoomRow.state.in_(states))
                    .order_by(RoomRow.id)
                )
            ).all()
            rooms = await room_store.load_many(session, [r for _, r in pairs])
        visible = []
        for (link, row), room in zip(pairs, rooms, strict=True):
            if await self.clubs.permissions.allowed(viewer, core_perms.ROOM_VIEW, room):
                visible.append((link, row, room))
        far = datetime.max.replace(tzinfo=UTC)
        visible.sort(
            key=lambda t: (t[2].state is not RoomState.LIVE, _aware(t[2].scheduled_for) or far)
        )
        return visible

    async def rooms_json(self, viewer: User | None, club: Club) -> list[dict[str, Any]]:
        found = await self.club_rooms(viewer, club)
        users = await self.core_rooms.users(
            [u for _, _, room in found for u in (*room.members, room.creator_id)]
        )
        out = []
        for link, _, room in found:
            extras = await self.core_rooms.extras(room, viewer)
            body = self.core_rooms.room_json_from(room, users, extras)
            body["club"] = {
                "members_only": link.members_only,
                "timezone": link.timezone,
                "weekly": link.weekly,
                "ics_url": f"/api/clubs/{club.handle}/rooms/{room.id}/event.ics",
            }
            out.append(body)
        return out


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
