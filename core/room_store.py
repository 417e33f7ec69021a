"""Loading a :class:`~salon.core.rooms.Room` from the database and storing it back.

Storing writes only what changed: a raised hand is one UPDATE of one member's row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .errors import NotFound
from .models import RoomGuest, RoomMember, RoomRow
from .rooms import Member, Role, Room, RoomState, Visibility

MEMBER_FIELDS = (
    "role",
    "joined_order",
    "stage_order",
    "hand_raised",
    "invited_to_speak",
    "muted",
    "muted_by_moderator",
)


@dataclass
class StoredRoom:
    """The rows a room was loaded from, so that storing it can write the difference."""

    row: RoomRow
    members: dict[int, RoomMember] = field(default_factory=dict)
    guests: dict[tuple[int, str], RoomGuest] = field(default_factory=dict)


def _member(row: RoomMember) -> Member:
    return Member(
        user_id=row.user_id,
        role=Role(row.role),
        joined_order=row.joined_order,
        stage_order=row.stage_order,
        hand_raised=row.hand_raised,
        invited_to_speak=row.invited_to_speak,
        muted=row.muted,
        muted_by_moderator=row.muted_by_moderator,
    )


def _room(stored: StoredRoom) -> Room:
    row = stored.row
    return Room(
        id=row.id,  # type: ignore[arg-type]
        title=row.title,
        description=row.description,
        creator_id=row.creator_id,
        visibility=Visibility(row.visibility),
        state=RoomState(row.state),
        scheduled_for=row.scheduled_for,
        order=row.order_counter,
        members={user_id: _member(m) for user_id, m in stored.members.items()},
        removed={user_id for user_id, kind in stored.guests if kind == "removed"},
        invited={user_id for user_id, kind in stored.guests if kind == "invited"},
    )


async def _stored(session: AsyncSession, rows: Sequence[RoomRow]) -> list[StoredRoom]:
    """Load the members and guests of ROWS in two queries, whatever their number."""
    ids = [r.id for r in rows]
    by_id = {r.id: StoredRoom(row=r) for r in rows}
    if ids:
        for m in (await session.exec(select(RoomMember).where(RoomMember.room_id.in_(ids)))).all():
            by_id[m.room_id].members[m.user_id] = m
        for g in (await session.exec(select(RoomGuest).where(RoomGuest.room_id.in_(ids)))).all():
            by_id[g.room_id].guests[(g.user_id, g.kind)] = g
    return [by_id[i] for i in ids]


async def load(session: AsyncSession, room_id: int) -> tuple[StoredRoom, Room]:
    row = await session.get(RoomRow, room_id)
    if row is None:
        raise NotFound(f"no room with id {room_id}", field="room_id")
    (stored,) = await _stored(session, [row])
    return stored, _room(stored)


async def load_many(session: AsyncSession, rows: Sequence[RoomRow]) -> list[Room]:
    return [_room(s) for s in await _stored(session, rows)]


async def store(session: AsyncSession, stored: StoredRoom, room: Room) -> None:
    """Write ROOM's changes over the rows it was loaded from, and commit."""
    row = stored.row
    if room.state is RoomState.LIVE and row.state != RoomState.LIVE:
        row.opened_at = datetime.now(UTC)
    if room.state is RoomState.ENDED and row.state != RoomState.ENDED:
        row.ended_at = datetime.now(UTC)
    row.title = room.title
    row.description = room.description
    row.state = room.state.value
    row.visibility = room.visibility.value
    row.order_counter = room.order
    session.add(row)

    for user_id, member_row in list(stored.members.items()):
        if user_id not in room.members:
            await session.delete(member_row)
            del stored.members[user_id]
    for user_id, member in room.members.items():
        member_row = stored.members.get(user_id)
        if member_row is None:
            member_row = RoomMember(room_id=room.id, user_id=user_id, joined_order=0, role="")
            stored.members[user_id] = member_row
        for name in MEMBER_FIELDS:
            value = getattr(member, name)
            value = value.value if isinstance(value, Role) else value
            if getattr(member_row, name) != value:
                setattr(member_row, name, value)
        session.add(member_row)

    wanted: dict[str, set[int]] = defaultdict(set, removed=room.removed, invited=room.invited)
    for key, guest in list(stored.guests.items()):
        user_id, kind = key
        if user_id not in wanted[kind]:
            await session.delete(guest)
            del stored.guests[key]
    for kind, ids in wanted.items():
        for user_id in ids:
            if (user_id, kind) not in stored.guests:
                guest = RoomGuest(room_id=room.id, user_id=user_id, kind=kind)
                stored.guests[(user_id, kind)] = guest
                session.add(guest)
    await session.commit()
