"""Passwords, credentials and the ``current_user`` of a request.

Browsers hold a signed, HttpOnly, SameSite=Lax session cookie carrying a session
credential; API clients send ``Authorization: Bearer <token>``. Both are rows of
:class:`~salon.core.models.AuthToken` holding only the SHA-256 of the secret, so a
session or token ends the moment its row is deleted.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection

from .errors import Forbidden, Unauthenticated, ValidationFailed
from .models import AuthToken, User

USERNAME_RE = re.compile(r"^[a-z0-9_]{2,30}$")
SESSION_KEY = "credential"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "username must be 2-30 characters: lowercase letters, digits, underscore",
            field="username",
        )
    return username


def check_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationFailed("password must be at least 8 characters", field="password")
    return password


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_credential(
    session: AsyncSession, user: User, *, kind: str, name: str = ""
) -> tuple[str, AuthToken]:
    """Create a session or API token for USER; the secret is returned once, never stored."""
    secret = secrets.token_urlsafe(32)
    row = AuthToken(user_id=user.id, kind=kind, name=name, token_hash=_digest(secret))
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return secret, row


async def user_for_secret(session: AsyncSession, secret: str) -> tuple[User, AuthToken] | None:
    row = (
        await session.exec(select(AuthToken).where(AuthToken.token_hash == _digest(secret)))
    ).first()
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    now = datetime.now(UTC)
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
        session.add(row)
        await session.commit()
    return user, row


def _presented_secret(conn: HTTPConnection) -> tuple[str | None, str | None]:
    """The credential the request presents and how: ("bearer"|"session", secret)."""
    header = conn.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return "bearer", value.strip()
    if "session" in conn.scope:
        secret = conn.session.get(SESSION_KEY)
        if isinstance(secret, str):
            return "session", secret
    return None, None


async def current_user(conn: HTTPConnection) -> User | None:
    """The signed-in user of this request or socket, or None. Cached per request."""
    if "salon_user" in conn.scope:
        return conn.scope["salon_user"]
    how, secret = _presented_secret(conn)
    user = None
    if secret is not None:
        async with conn.app.state.db.session() as session:
            found = await user_for_secret(session, secret)
        if found is None and how == "bearer":
            raise Unauthenticated("the token is unknown, revoked or expired")
        if found is not None and not await conn.app.state.permissions.allowed(
            found[0], "user.sign_in", found[0]
        ):
            # E.g. a suspended account: its sessions and tokens stop working at once.
            if how == "bearer":
                raise Unauthenticated("this account may not sign in now", code="sign_in_refused")
            found = None
        if found is not None and not _in_scope(conn, found[1]):
            conn.scope["salon_user"] = None  # a guest's page elsewhere: anonymous
            return None
        if found is not None:
            user = found[0]
            conn.scope["salon_credential_id"] = found[1].id
        elif how == "session":
            conn.session.pop(SESSION_KEY, None)
    conn.scope["salon_user"] = user
    return user


def _in_scope(conn: HTTPConnection, credential: AuthToken) -> bool:
    """A room-bound (guest) credential outside its room: 403 on the API and on any
    write; a page is served as to an anonymous visitor (the credential is kept)."""
    from .guests import in_scope

    method = conn.scope.get("method", "GET")  # a WebSocket handshake has none
    if in_scope(credential, method, conn.url.path):
        return True
    if conn.url.path.startswith("/api/") or method not in ("GET", "HEAD"):
        raise Forbidden(
            f"this is a guest pass for room {credential.room_id} on this instance;"
            " it can do nothing else here",
            code="guest_scope",
        )
    return False


async def require_user(conn: HTTPConnection) -> User:
    user = await current_user(conn)
    if user is None:
        raise Unauthenticated("sign in first: this needs a session or a Bearer token")
    return user
