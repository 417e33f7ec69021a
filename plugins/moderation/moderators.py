"""Instance moderators: every admin, plus the users an admin grants the role."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from salon.core.models import User

from .models import ModeratorGrant


async def is_granted(session: AsyncSession, user_id: int) -> bool:
    row = (
        await session.exec(select(ModeratorGrant.id).where(ModeratorGrant.user_id == user_id))
    ).first()
    return row is not None


async def find(session: AsyncSession, user_id: int) -> ModeratorGrant | None:
    return (
        await session.exec(select(ModeratorGrant).where(ModeratorGrant.user_id == user_id))
    ).first()


async def listing(session: AsyncSession) -> list[tuple[User, str]]:
    """Every moderator with how they are one: ``"admin"`` or ``"granted"``."""
    admins = (await session.exec(select(User).where(User.is_admin == True))).all()  # noqa: E712
    granted = (
        await session.exec(
            select(User)
            .join(ModeratorGrant, col(ModeratorGrant.user_id) == User.id)
            .order_by(col(ModeratorGrant.id))
        )
    ).all()
    seen = {u.id for u in admins}
    return [(u, "admin") for u in admins] + [(u, "granted") for u in granted if u.id not in seen]
