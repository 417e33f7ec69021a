"""Account suspensions (instance bans): permanent or until an expiry, until lifted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import Suspension


def _active_clause(now: datetime):  # type: ignore[no-untyped-def]
    return (
        col(Suspension.lifted_at).is_(None),
        or_(col(Suspension.expires_at).is_(None), col(Suspension.expires_at) > now),
    )


async def active(session: AsyncSession, user_id: int) -> Suspension | None:
    """USER_ID's suspension in force now, or None."""
    now = datetime.now(UTC)
    return (
        await session.exec(
            select(Suspension)
            .where(Suspension.user_id == user_id, *_active_clause(now))
            .order_by(col(Suspension.id).desc())
        )
    ).first()


async def all_active(session: AsyncSession) -> list[Suspension]:
    now = datetime.now(UTC)
    return list(
        (
            await session.exec(
                select(Suspension).where(*_active_clause(now)).order_by(col(Suspension.id).desc())
            )
        ).all()
    )
