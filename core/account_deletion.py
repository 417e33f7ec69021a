"""Deleting an account.

The person leaves every live room (as if they had left themselves, so rooms pass to
the next host or end), their scheduled rooms are ended, their sessions and tokens and
follows are removed, and their profile is scrubbed. The ``user`` row stays as a
tombstone (``deleted_at`` set, no password): it keeps the username reserved, so nobody
can sign up as them later, and it keeps what referred to them (past rooms) intact.
Then ``salon_account_deleted`` lets plugins clean up what they keep.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from sqlalchemy import delete, or_
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from .auth import verify_password
from .errors import SalonError, ValidationFailed
from .events import CLOSE_FORBIDDEN
from .models import AuthToken, Follow, RoomMember, RoomRow, User
from .rooms import RoomState
from .schemas import Body

logger = logging.getLogger(__name__)


class DeleteAccountBody(Body):
    password: str = Field(min_length=1, max_length=200)


def is_deleted(user: User | None) -> bool:
    return user is not None and user.deleted_at is not None


async def check_password(user: User, password: str) -> None:
    """Refuse (422 naming ``password``) unless PASSWORD is USER's."""
    # Argon2 is deliberately slow: keep it off the event loop.
    if not await run_in_threadpool(verify_password, user.password_hash, password):
        raise ValidationFailed("the password is wrong", field="password", code="wrong_password")


async def leave_rooms(state: Any, user: User) -> None:
    """Take USER out of every live room and end the rooms USER scheduled."""
    rooms = state.rooms
    async with state.db.session() as session:
        live = (
            await session.exec(
                select(RoomMember.room_id)
                .join(RoomRow, RoomRow.id == RoomMember.room_id)
                .where(RoomMember.user_id == user.id, RoomRow.state == RoomState.LIVE.value)
            )
        ).all()
        scheduled = (
            await session.exec(
                select(RoomRow.id).where(
                    RoomRow.creator_id == user.id, RoomRow.state == RoomState.SCHEDULED.value
                )
            )
        ).all()
    for room_id in live:
        try:
            await rooms.transition(room_id, user, lambda room: room.leave(user.id))
        except SalonError as exc:  # left (or ended) meanwhile
            logger.info("user %s was already out of room %s: %s", user.id, room_id, exc.message)
        # Their sockets (as a listener now) end too: the account is gone.
        rooms.hub.close_room(room_id, user.id, code=CLOSE_FORBIDDEN)
    for room_id in scheduled:
        try:
            await rooms.transition(room_id, user, lambda room: room.end(user.id))
        except SalonError as exc:
            logger.info("scheduled room %s was not ended: %s", room_id, exc.message)


async def delete_account(state: Any, user: User) -> User:
    """Delete USER's account (see the module's docstring); returns the tombstone.
    STATE is the app's state (``db``, ``rooms``, ``plugins``)."""
    # Credentials first, so nothing signed in as USER acts while the rest happens.
    async with state.db.session() as session:
        await session.exec(delete(AuthToken).where(AuthToken.user_id == user.id))  # type: ignore[call-overload]
        await session.commit()
    await leave_rooms(state, user)
    async with state.db.session() as session:
        await session.exec(
            delete(Follow).where(or_(Follow.follower_id == user.id, Follow.followee_id == user.id))  # type: ignore[call-overload]
        )
        row = await session.get(User, user.id)
        assert row is not None
        row.display_name = ""
        row.bio = ""
        row.password_hash = ""
        row.is_admin = False
        row.deleted_at = datetime.now(UTC)
        session.add(row)
        await session.commit()
        await session.refresh(row)
    logger.info("deleted the account of %s", row.username)
    await state.plugins.call("salon_account_deleted", user=row)
    return row
