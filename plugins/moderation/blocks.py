"""User-to-user blocks. A block is stored one way (who blocked whom) and enforced both
ways: :func:`all_of` and :class:`BlockCache` give everyone a user blocked or was
blocked by."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from salon.core.models import Follow

from .models import Block


async def all_of(session: AsyncSession, a: int) -> set[int]:
    """Everyone A blocked or was blocked by."""
    rows = (
        await session.exec(
            select(Block.blocker_id, Block.blocked_id).where(
                or_(Block.blocker_id == a, Block.blocked_id == a)
            )
        )
    ).all()
    return {blocked if blocker == a else blocker for blocker, blocked in rows}


class BlockCache:
    """Each user's blocks (either way), kept for TTL seconds so that a hallway of many
    rooms costs one query, not one per room. This process forgets a user's entry the
    moment a block involving them is made or lifted; other processes of the same
    instance see it within TTL."""

    def __init__(self, db: Any, ttl: float = 2.0):
        self.db = db
        self.ttl = ttl
        self._entries: dict[int, tuple[float, frozenset[int]]] = {}

    async def of(self, user_id: int) -> frozenset[int]:
        now = time.monotonic()
        hit = self._entries.get(user_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        async with self.db.session() as session:
            found = frozenset(await all_of(session, user_id))
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[user_id] = (now, found)
        return found

    def forget(self, *user_ids: int) -> None:
        for user_id in user_ids:
            self._entries.pop(user_id, None)


async def find(session: AsyncSession, blocker_id: int, blocked_id: int) -> Block | None:
    return (
        await session.exec(
            select(Block).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id)
        )
    ).first()


async def add(session: AsyncSession, blocker_id: int, blocked_id: int) -> tuple[Block, int]:
    """Store the block and end the follows between the two, both ways. Returns the
    block and how many follows ended; the caller commits."""
    existing = await find(session, blocker_id, blocked_id)
    if existing is not None:
        return existing, 0
    block = Block(blocker_id=blocker_id, blocked_id=blocked_id)
    session.add(block)
    result = await session.exec(  # type: ignore[call-overload]
        delete(Follow).where(
            or_(
                and_(Follow.follower_id == blocker_id, Follow.followee_id == blocked_id),
                and_(Follow.follower_id == blocked_id, Follow.followee_id == blocker_id),
            )
        )
    )
    return block, result.rowcount or 0


async def of(session: AsyncSession, blocker_id: int) -> list[Block]:
    return list(
        (
            await session.exec(
                select(Block).where(Block.blocker_id == blocker_id).order_by(col(Block.id).desc())
            )
        ).all()
    )


async def remove_all_of(session: AsyncSession, user_id: int) -> set[int]:
    """Remove every block USER_ID made or was the target of; returns the other side of
    each. The caller commits."""
    rows = list(
        (
            await session.exec(
                select(Block).where(or_(Block.blocker_id == user_id, Block.blocked_id == user_id))
            )
        ).all()
    )
    for row in rows:
        await session.delete(row)
    return {row.blocked_id if row.blocker_id == user_id else row.blocker_id for row in rows}
