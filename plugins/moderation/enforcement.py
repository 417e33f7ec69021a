"""Carrying a moderation decision into live rooms, through the core's RoomService: the
change is stored, numbered and sent to every socket of the room like any other, the
audio transport drops the member, and a removed member's sockets close with 4003."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import or_
from sqlmodel import col, select

from salon.core.events import CLOSE_FORBIDDEN
from salon.core.models import RoomMember, RoomRow, User
from salon.core.room_service import RoomService
from salon.core.rooms import ENDED as ENDED_EVENT
from salon.core.rooms import MEMBER_REMOVED, Role, Room, RoomEvent, RoomState

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a decision did to rooms: the rooms it took someone out of, and ended."""

    removed_from: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


def _expel(user_id: int, actor_id: int | None):  # type: ignore[no-untyped-def]
    """A transition taking USER_ID out of a room on the instance's authority (not a
    room role): a leave, announced as a removal so their sockets close."""

    def apply(room: Room) -> list[RoomEvent]:
        if room.state is not RoomState.LIVE or user_id not in room.members:
            return []
        rest = room.leave(user_id)[1:]  # the succession, if they were the last host
        return [RoomEvent(MEMBER_REMOVED, user_id=user_id, actor_id=actor_id), *rest]

    return apply


def _end(actor_id: int | None):  # type: ignore[no-untyped-def]
    def apply(room: Room) -> list[RoomEvent]:
        if room.state is RoomState.ENDED:
            return []
        room.state = RoomState.ENDED
        room.members.clear()
        return [RoomEvent(ENDED_EVENT, actor_id=actor_id)]

    return apply


async def remove_everywhere(rooms: RoomService, user: User, actor: User) -> Outcome:
    """Take USER out of every live room; end the rooms they created (live or scheduled)
    and those where they are the only host; close every room socket they still hold."""
    outcome = Outcome()
    uid = user.id
    assert uid is not None, "a stored user has an id"
    async with rooms.db.session() as session:
        created = (
            await session.exec(
                select(RoomRow.id).where(
                    RoomRow.creator_id == uid,
                    col(RoomRow.state).in_([RoomState.LIVE.value, RoomState.SCHEDULED.value]),
                )
            )
        ).all()
        memberships = (
            await session.exec(
                select(RoomMember.room_id, RoomMember.role)
                .join(RoomRow, col(RoomRow.id) == RoomMember.room_id)
                .where(RoomMember.user_id == uid, RoomRow.state == RoomState.LIVE.value)
            )
        ).all()
        not_ended = (
            await session.exec(select(RoomRow.id).where(RoomRow.state != RoomState.ENDED.value))
        ).all()
    to_end = set(created)
    for room_id, role in memberships:
        if role == Role.HOST.value:
            room = await rooms.load(room_id)
            if len(room.hosts()) <= 1:
                to_end.add(room_id)
    for room_id in sorted(to_end):
        await rooms.transition(room_id, actor, _end(actor.id))
        outcome.ended.append(room_id)
    for room_id, _role in memberships:
        if room_id not in to_end:
            await rooms.transition(room_id, actor, _expel(uid, actor.id))
            outcome.removed_from.append(room_id)
    for room_id in not_ended:
        # Sockets held without membership (watching a room, or one not yet open) end too.
        rooms.hub.close_room(room_id, uid, code=CLOSE_FORBIDDEN)
    logger.info(
        "%s taken out of rooms %s; rooms ended: %s",
        user.username,
        outcome.removed_from,
        outcome.ended,
    )
    return outcome


async def remove_from_rooms_of(rooms: RoomService, user_id: int, blocker: User) -> list[int]:
    """Take USER_ID out of the live rooms where BLOCKER is on stage or is the creator
    (a block's effect on rooms already joined), unless USER_ID hosts them. Returns
    those rooms."""
    others = {blocker.id}
    async with rooms.db.session() as session:
        candidates = (
            await session.exec(
                select(RoomMember.room_id)
                .join(RoomRow, col(RoomRow.id) == RoomMember.room_id)
                .where(RoomMember.user_id == user_id, RoomRow.state == RoomState.LIVE.value)
                .where(
                    or_(
                        col(RoomRow.creator_id).in_(others),
                        col(RoomRow.id).in_(
                            select(RoomMember.room_id).where(
                                col(RoomMember.user_id).in_(others),
                                col(RoomMember.role).in_(
                                    [Role.HOST.value, Role.MODERATOR.value, Role.SPEAKER.value]
                                ),
                            )
                        ),
                    )
                )
            )
        ).all()
    done = []
    for room_id in candidates:
        room = await rooms.load(room_id)
        stage = {m.user_id for m in room.stage()} | {room.creator_id}
        member = room.members.get(user_id)
        if stage & others and member is not None and member.role is not Role.HOST:
            await rooms.transition(room_id, blocker, _expel(user_id, None))
            done.append(room_id)
    return done
