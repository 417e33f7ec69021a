"""The moderation plugin's tables, all prefixed ``moderation_``.

They live in their own metadata (not SQLModel's shared one), so the core's check that
its migrations match its models never sees them; the ``user`` and ``room`` tables are
copied in so that foreign keys resolve. ``tests/plugins/moderation/test_migrations.py``
checks these models against ``migrations/``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from salon.core import models as core_models

_registry = registry()


class ModerationModel(SQLModel, registry=_registry):
    """Base of the plugin's tables (its own metadata)."""


metadata = ModerationModel.metadata
for _name in ("user", "room"):
    core_models.SQLModel.metadata.tables[_name].to_metadata(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored time with its zone: SQLite hands back naive values, which are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 with its zone, for the API."""
    value = aware(value)
    return value.isoformat() if value else None


def user_json(user: core_models.User | None) -> dict[str, Any] | None:
    """A person as the API shows them."""
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


class Block(ModerationModel, table=True):
    """BLOCKER blocked BLOCKED; the rules treat it as mutual."""

    __tablename__ = "moderation_block"
    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id"),)

    id: int | None = Field(default=None, primary_key=True)
    blocker_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    blocked_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)


class Suspension(ModerationModel, table=True):
    """An account suspended instance-wide, until ``expires_at`` (None: permanent) or
    until lifted; lifted ones stay, for the record."""

    __tablename__ = "moderation_suspension"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    reason: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    lifted_at: datetime | None = None
    lifted_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class ModeratorGrant(ModerationModel, table=True):
    """A user an admin made an instance moderator (admins are moderators anyway)."""

    __tablename__ = "moderation_moderator"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True, ondelete="CASCADE")
    granted_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class Report(ModerationModel, table=True):
    """A report about a user, a room or a club, and how moderators triaged it."""

    __tablename__ = "moderation_report"

    id: int | None = Field(default=None, primary_key=True)
    # None for a report from another server (an ActivityPub Flag): remote_reporter
    # then holds the actor id that sent it.
    reporter_id: int | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="CASCADE"
    )
    remote_reporter: str = Field(default="", max_length=600)
    kind: str = Field(max_length=10)  # user | room | club
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    room_id: int | None = Field(default=None, foreign_key="room.id", ondelete="SET NULL")
    club_id: int | None = None  # the clubs plugin's id; no foreign key across plugins
    reason: str = Field(max_length=20)
    text: str = Field(default="", max_length=2000)
    context: str = Field(default="[]", sa_type=Text)  # JSON: the room's recent events
    state: str = Field(default="open", max_length=10, index=True)
    action: str = Field(default="", max_length=20)
    note: str = Field(default="", max_length=1000)
    handled_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    handled_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class InstanceBlock(ModerationModel, table=True):
    """A remote instance (host name) this one does not federate with."""

    __tablename__ = "moderation_instance_block"

    id: int | None = Field(default=None, primary_key=True)
    domain: str = Field(max_length=253, unique=True)
    reason: str = Field(default="", max_length=1000)
    created_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    # When salon_instance_blocked was called for it (blocks made from the command line
    # are announced by the running server the first time federation asks about them).
    announced_at: datetime | None = None


class AuditEntry(ModerationModel, table=True):
    """One moderation action: who, what, on what, when, why. Never deleted."""

    __tablename__ = "moderation_audit"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="SET NULL"
    )
    action: str = Field(max_length=40)
    target: str = Field(default="", max_length=300)
    reason: str = Field(default="", max_length=1000)
    details: str = Field(default="{}", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)
