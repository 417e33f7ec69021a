"""The core's tables. Plugins keep their own tables beside their code.

Schema changes go through Alembic migrations in ``core/migrations/versions``; a test
checks that the models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Local usernames follow ``auth.USERNAME_RE``; a guest account's is ``name@host``.
    username: str = Field(index=True, unique=True, max_length=255)
    display_name: str = Field(default="", max_length=60)
    bio: str = Field(default="", max_length=500)
    password_hash: str = Field(default="")
    is_admin: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    # Set when the account was deleted: the row stays as a tombstone that keeps the
    # username reserved; everything else about the person is gone.
    deleted_at: datetime | None = None
    # Set for a guest account: someone whose account lives on another server (this is
    # their actor id there), admitted to one room at a time (core/guests.py).
    home: str | None = Field(default=None, unique=True, max_length=600)


class AuthToken(SQLModel, table=True):
    """A credential: a browser session (``kind="session"``) or an API token. Only the
    SHA-256 of the secret is stored."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="api", max_length=10)
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    # A guest's credential works in this one room only, until ``expires_at``.
    room_id: int | None = Field(default=None, foreign_key="room.id")
    expires_at: datetime | None = None


class Invite(SQLModel, table=True):
    """A single-use sign-up code, for ``registration = "invite"``."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    used_by: int | None = Field(default=None, foreign_key="user.id")
    used_at: datetime | None = None


class Follow(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("follower_id", "followee_id"),)

    id: int | None = Field(default=None, primary_key=True)
    follower_id: int = Field(foreign_key="user.id", index=True)
    followee_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class RoomRow(SQLModel, table=True):
    """A room's stored state; :class:`salon.core.rooms.Room` is its live form."""

    __tablename__ = "room"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=1000)
    creator_id: int = Field(foreign_key="user.id", index=True)
    visibility: str = Field(default="open", max_length=10)
    state: str = Field(default="scheduled", max_length=10, index=True)
    scheduled_for: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    opened_at: datetime | None = None
    ended_at: datetime | None = None
    order_counter: int = 0


class RoomMember(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("room_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=10)
    joined_order: int
    stage_order: int | None = None
    hand_raised: bool = False
    invited_to_speak: bool = False
    muted: bool = True
    muted_by_moderator: bool = False


class RoomGuest(SQLModel, table=True):
    """A user a room lists: ``kind="invited"`` (closed-room guest list) or ``"removed"``."""

    __table_args__ = (UniqueConstraint("room_id", "user_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="room.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(max_length=10)
