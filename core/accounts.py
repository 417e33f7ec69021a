"""Registering accounts: the registration policy and single-use invite codes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.concurrency import run_in_threadpool

from .auth import check_password, check_username, hash_password
from .errors import Conflict, Forbidden, ValidationFailed
from .models import Invite, User

logger = logging.getLogger(__name__)


async def register(
    session: AsyncSession,
    *,
    registration: str,
    username: str,
    password: str,
    display_name: str = "",
    invite_code: str | None = None,
) -> User:
    """Create an account under the instance's REGISTRATION policy (open, invite,
    closed). An invite code is consumed in the same transaction, atomically: two
    sign-ups racing for one code cannot both have it."""
    username = check_username(username.lower())
    check_password(password)
    if registration == "closed":
        raise Forbidden("registration is closed on this instance", code="registration_closed")
    if registration == "invite" and not invite_code:
        raise ValidationFailed("this instance needs an invite code", field="invite_code")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=await run_in_threadpool(hash_password, password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("that username is taken", field="username") from None
    if registration == "invite":
        claimed = await session.exec(  # type: ignore[call-overload]
            update(Invite)
            .where(Invite.code == invite_code, Invite.used_by.is_(None))  # type: ignore[union-attr]
            .values(used_by=user.id, used_at=datetime.now(UTC))
        )
        if claimed.rowcount != 1:
            await session.rollback()
            raise ValidationFailed("the invite code is unknown or used", field="invite_code")
    await session.commit()
    await session.refresh(user)
    logger.info("signed up %s (registration %s)", user.username, registration)
    return user
