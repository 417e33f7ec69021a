"""Guest accounts: people whose account lives on another server, admitted to one room.

A guest account is a :class:`~salon.core.models.User` with ``home`` set (their
identity elsewhere, such as an actor id) and ``name@host`` as its username. It has no
password. What lets it in is a guest credential: an :class:`AuthToken` bound to one
room and with an end. The core knows nothing of how the guest proved who they are
(a plugin checks that, then calls :func:`guest_account` and
:func:`issue_guest_session`); it enforces the limits:

- a room-bound credential authenticates only the room's own API (``/api/rooms/{id}``
  and below), its page (``/rooms/{id}``), ``GET /api/me`` and logging out
  (:func:`in_scope`);
  anything else answers 403 ``guest_scope``;
- a guest account may do nothing but take part in rooms (``permissions.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select
from starlette.requests import HTTPConnection

from .auth import SESSION_KEY, issue_credential
from .db import Database
from .models import AuthToken, User

GUEST_KIND = "guest"
MAX_DISPLAY_NAME = 60
_ROOM_PATH = re.compile(r"^/(?:api/)?rooms/(\d+)(?:/|$)")


def is_guest(user: User | None) -> bool:
    return user is not None and user.home is not None


async def guest_account(db: Database, *, home: str, handle: str, display_name: str) -> User:
    """The guest account for HOME (created on first use), named HANDLE (``name@host``).
    The display name is refreshed each time."""
    display_name = display_name[:MAX_DISPLAY_NAME]
    async with db.session() as session:
        user = (await session.exec(select(User).where(User.home == home))).first()
        if user is None:
            user = User(username=handle.lower(), display_name=display_name, home=home)
        elif user.display_name != display_name:
            user.display_name = display_name
        else:
            return user
        session.add(user)
        await session.commit()
        await session.refresh(user)
    return user


async def issue_guest_session(
    db: Database, user: User, room_id: int, ttl_seconds: float
) -> tuple[str, AuthToken]:
    """A credential for USER that works in room ROOM_ID only, for TTL_SECONDS. The
    secret is returned once; only its hash is stored."""
    if not is_guest(user):
        raise ValueError("guest sessions are for guest accounts only")
    async with db.session() as session:
        secret, row = await issue_credential(session, user, kind=GUEST_KIND, name=f"room {room_id}")
        row.room_id = room_id
        row.expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        session.add(row)
        await session.commit()
        await session.refresh(row)
    return secret, row


def sign_in_guest(conn: HTTPConnection, secret: str) -> None:
    """Make SECRET this browser's session (replacing any other on this instance)."""
    conn.session.clear()
    conn.session[SESSION_KEY] = secret


def in_scope(credential: AuthToken, method: str, path: str) -> bool:
    """Whether a request may use CREDENTIAL: always for an unbound credential; for a
    room-bound one, only the room's API and page, and reading ``/api/me``."""
    if credential.room_id is None:
        return True
    if path == "/api/me":
        return method in ("GET", "HEAD")
    if path == "/api/auth/logout":
        return True
    match = _ROOM_PATH.match(path)
    return match is not None and int(match.group(1)) == credential.room_id
