"""The clubs API's JSON shapes: request bodies (unknown fields refused) and responses."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from salon.core.schemas import Body, RoomOut, UserSummary

from .models import JoinPolicy, MemberList, Role

HANDLE_RE = re.compile(r"^[a-z0-9_]{2,30}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
RESERVED_HANDLES = frozenset({"new"})


def check_handle(value: str) -> str:
    if not HANDLE_RE.match(value):
        raise ValueError("must be 2-30 characters: lowercase letters, digits, underscore")
    if value in RESERVED_HANDLES:
        raise ValueError(f"{value!r} is reserved")
    return value


def check_avatar(value: str) -> str:
    if value and not (COLOUR_RE.match(value) or value.startswith("https://")):
        raise ValueError("must be a colour like #3366cc or an https:// image URL")
    if any(c.isspace() or c in "\"'<>" for c in value):
        raise ValueError("must not contain spaces or quotes")
    return value


def check_topics(value: list[str]) -> list[str]:
    cleaned: list[str] = []
    for topic in value:
        topic = " ".join(topic.split())
        if not 1 <= len(topic) <= 30:
            raise ValueError("each topic must be 1-30 characters")
        if "," in topic or "\x00" in topic:
            raise ValueError("a topic must not contain a comma or a NUL character")
        if topic.lower() not in (t.lower() for t in cleaned):
            cleaned.append(topic)
    return cleaned


# -- requests ------------------------------------------------------------------------


class ClubUpdateBody(Body):
    name: str | None = Field(None, min_length=2, max_length=60)
    description: str | None = Field(None, max_length=1000)
    rules: str | None = Field(None, max_length=2000)
    topics: list[str] | None = Field(None, max_length=10, description="up to 10 topics")
    avatar: str | None = Field(
        None, max_length=500, description="a colour like #3366cc or an https:// image URL"
    )
    join_policy: JoinPolicy | None = Field(
        None, description="open: anyone joins; approval: an admin approves; invite: invited only"
    )
    member_list: MemberList | None = Field(
        None, description="who sees the member list: public, members or admins"
    )

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_topics(value)

    @field_validator("avatar")
    @classmethod
    def _avatar(cls, value: str | None) -> str | None:
        return None if value is None else check_avatar(value)


class ClubBody(ClubUpdateBody):
    name: str = Field(min_length=2, max_length=60)  # type: ignore[assignment]
    handle: str | None = Field(
        None, description="2-30 of a-z, 0-9, _; made from the name when left out"
    )

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        return None if value is None else check_handle(value)


class InviteBody(Body):
    username: str = Field(min_length=1, max_length=30)
    role: Role = Role.MEMBER


class UsernameBody(Body):
    username: str = Field(min_length=1, max_length=30)


class RoleBody(Body):
    role: Role


class LeaveBody(Body):
    successor: str | None = Field(
        None, max_length=30, description="the last admin names who takes over"
    )


class ClubRoomBody(Body):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=1000)
    members_only: bool = Field(False, strict=True)
    scheduled_for: str | None = Field(
        None,
        max_length=40,
        description="ISO 8601 start; without an offset it is read in `timezone`; "
        "omit to open the room now",
    )
    timezone: str = Field("UTC", max_length=64, description="an IANA time zone, e.g. Europe/Paris")
    weekly: bool = Field(False, strict=True, description="schedule the next one when it opens")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known IANA time zone") from None
        return value


# -- responses -----------------------------------------------------------------------


class Viewer(BaseModel):
    role: str | None
    status: str | None
    following: bool
    can_edit: bool
    can_host: bool
    can_see_members: bool


class ClubOut(BaseModel):
    id: int
    handle: str
    name: str
    description: str
    rules: str
    topics: list[str]
    avatar: str
    join_policy: str
    member_list: str
    url: str
    calendar_url: str
    members_count: int
    followers_count: int
    created_at: datetime
    viewer: Viewer


class ClubList(BaseModel):
    clubs: list[ClubOut]


class MemberOut(BaseModel):
    user: UserSummary
    role: str
    status: str
    since: datetime


class Members(BaseModel):
    members: list[MemberOut]


class MembershipOut(BaseModel):
    club: str
    user: UserSummary
    role: str | None
    status: str | None = Field(description="active, invited, requested, or null: no membership")


class ClubRoomOut(RoomOut):
    club: dict[str, Any]


class ClubRoomList(BaseModel):
    rooms: list[ClubRoomOut]
