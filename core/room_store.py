"""Loading a :class:`~salon.core.rooms.Room` from the database and storing it back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .errors import NotFound
from .models import RoomGuest, RoomMember, RoomRow
from .rooms import Member, Role, Room, RoomState, Visibility


async def load(session: AsyncSession, room_id: int) -> tuple[RoomRow, Room]:
    row = await session.get(RoomRow, room_id)
    if row is None:
        raise NotFound(f"no room with id {room_id}", field="room_id")
    members = (await session.exec(select(RoomMember).where(RoomMember.room_id == room_id))).all()
    guests = (await session.exec(select(RoomGuest).where(RoomGuest.room_id == room_id))).all()
    room = Room(
        id=row.id,  # type: ignore[arg-type]
        title=row.title,
        description=row.description,
        creator_id=row.creator_id,
        visibility=Visibility(row.visibility),
        state=RoomState(row.state),
        scheduled_for=row.scheduled_for,
        order=row.order_counter,
        members={
            m.user_id: Member(
                user_id=m.user_id,
                role=Role(m.role),
                joined_order=m.joined_order,
                stage_order=m.stage_order,
                hand_raised=m.hand_raised,
                invited_to_speak=m.invited_to_speak,
                muted=m.muted,
                muted_by_moderator=m.muted_by_moderator,
            )
            for m in members
        },
        removed={g.user_id for g in guests if g.kind == "removed"},
        invited={g.user_id for g in guests if g.kind == "invited"},
    )
    return row, room


async def store(session: AsyncSession, row: RoomRow, room: Room) -> None:
    """Write ROOM's state over its stored form, in the session's transaction."""
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
    await session.exec(delete(RoomMember).where(RoomMember.room_id == room.id))  # type: ignore[call-overload]
    await session.exec(delete(RoomGuest).where(RoomGuest.room_id == room.id))  # type: ignore[call-overload]
    for m in room.members.values():
        session.add(
            RoomMember(
                room_id=room.id,
                user_id=m.user_id,
                role=m.role.value,
                joined_order=m.joined_order,
                stage_order=m.stage_order,
                hand_raised=m.hand_raised,
                invited_to_speak=m.invited_to_speak,
                muted=m.muted,
                muted_by_moderator=m.muted_by_moderator,
            )
        )
    for kind, ids in (("removed", room.removed), ("invited", room.invited)):
        for user_id in ids:
            session.add(RoomGuest(room_id=room.id, user_id=user_id, kind=kind))
    await session.commit()
