"""The clubs plugin's tables: clubs, their members, their followers and their rooms.

They live in the plugin's own metadata (not the core's ``SQLModel.metadata``), so the
core's schema checks never see them; foreign keys name the core's tables by their
column objects. Migrations: ``migrations/`` beside this file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from salon.core.models import RoomRow, User


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    ADMIN = "admin"  # runs the club: settings, members, rooms
    LEADER = "leader"  # may host the club's rooms
    MEMBER = "member"


class Status(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"  # an admin invited them; they have not answered
    REQUESTED = "requested"  # they asked to join; an admin has not answered


class JoinPolicy(StrEnum):
    OPEN = "open"  # anyone joins at once
    APPROVAL = "approval"  # an admin approves each request
    INVITE = "invite"  # by invitation only


class MemberList(StrEnum):
    PUBLIC = "public"  # anyone sees the members
    MEMBERS = "members"  # members see the members
    ADMINS = "admins"  # only admins do


class ClubsModel(SQLModel, registry=registry()):
    """Base of the plugin's tables: its own metadata."""


def _user_fk(*, nullable: bool = False, index: bool = True) -> Column:
    return Column(
        Integer, ForeignKey(User.__table__.c.id, ondelete="CASCADE"), nullable=nullable, index=index
    )


class Club(ClubsModel, table=True):
    __tablename__ = "clubs_club"

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=30, unique=True, index=True)
    name: str = Field(max_length=60)
    name_key: str = Field(max_length=60, unique=True)  # the name case-folded: unique
    description: str = Field(default="", max_length=1000)
    rules: str = Field(default="", max_length=2000)
    topics: str = Field(default="", max_length=300)  # comma-separated
    avatar: str = Field(default="", max_length=500)  # "#rrggbb" or an https URL
    join_policy: str = Field(default=JoinPolicy.OPEN.value, max_length=10)
    member_list: str = Field(default=MemberList.PUBLIC.value, max_length=10)
    created_by: int = Field(sa_column=_user_fk(index=False))
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def topic_list(self) -> list[str]:
        return [t for t in self.topics.split(",") if t]


class ClubMember(ClubsModel, table=True):
    """One person's place in a club: active, invited or asking to join."""

    __tablename__ = "clubs_member"
    __table_args__ = (UniqueConstraint("club_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="clubs_club.id", index=True, ondelete="CASCADE")
    user_id: int = Field(sa_column=_user_fk())
    role: str = Field(default=Role.MEMBER.value, max_length=10)
    status: str = Field(default=Status.ACTIVE.value, max_length=10)
    created_at: datetime = Field(default_factory=utcnow)


class ClubFollow(ClubsModel, table=True):
    __tablename__ = "clubs_follow"
    __table_args__ = (UniqueConstraint("club_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="clubs_club.id", index=True, ondelete="CASCADE")
    user_id: int = Field(sa_column=_user_fk())
    created_at: datetime = Field(default_factory=utcnow)


class ClubRoom(ClubsModel, table=True):
    """A core room hosted by a club, with its time zone and whether it repeats."""

    __tablename__ = "clubs_room"

    id: int | None = Field(default=None, primary_key=True)
    club_id: int = Field(foreign_key="clubs_club.id", index=True, ondelete="CASCADE")
    room_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey(RoomRow.__table__.c.id, ondelete="CASCADE"),
            nullable=False,
            unique=True,
        )
    )
    members_only: bool = False
    timezone: str = Field(default="UTC", max_length=64)
    weekly: bool = False
    created_at: datetime = Field(default_factory=utcnow)
