"""The JSON shapes of the HTTP API: request bodies and responses.

These models validate what comes in and document (in ``/api/openapi.json``) what goes
out. Unknown fields in a request body are refused, so a misspelt field is an error,
not silently ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .rooms import Visibility

MAX_ID = 2**31 - 1
"""The largest id a row can have: ids are 32-bit INTEGER columns (PostgreSQL)."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it here, naming the field, not in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


# -- requests ------------------------------------------------------------------------


class SignupBody(Body):
    username: str = Field(min_length=2, max_length=30)
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field("", max_length=60)
    invite_code: str | None = Field(None, max_length=64)


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=30)
    password: str = Field(min_length=1, max_length=200)


class TokenBody(Body):
    username: str = Field(min_length=1, max_length=30)
    password: str = Field(min_length=1, max_length=200)
    name: str = Field("api", min_length=1, max_length=100)


class ProfileBody(Body):
    display_name: str | None = Field(None, max_length=60)
    bio: str | None = Field(None, max_length=500)


class RoomBody(Body):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=1000)
    visibility: Visibility = Visibility.OPEN
    scheduled_for: datetime | None = Field(
        None, description="ISO 8601 with a time zone; omit to open the room now"
    )

    @field_validator("scheduled_for", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # pydantic would read a number as a Unix timestamp: 12345 is not "ISO 8601".
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        return value

    @field_validator("scheduled_for")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-12-01T18:00:00+00:00")
        if value is not None:
            try:
                value.astimezone(UTC)  # stored in UTC: year 1 at +05:00 has no UTC form
            except OverflowError:
                raise ValueError("is out of range once converted to UTC") from None
            # A minute of slack for clocks and slow forms; earlier than that is a mistake.
            if value < datetime.now(UTC) - timedelta(minutes=1):
                raise ValueError("is in the past; pick a time from now on")
        return value


class RoomUpdateBody(Body):
    title: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=1000)


class TargetBody(Body):
    user_id: int = Field(gt=0, le=MAX_ID, strict=True)


class MuteBody(Body):
    user_id: int = Field(gt=0, le=MAX_ID, strict=True)
    muted: bool = Field(strict=True)


class EmptyBody(Body):
    """An endpoint that takes no fields: ``{}`` or no body; any field is refused."""


# -- responses -----------------------------------------------------------------------


class UserSummary(BaseModel):
    id: int
    username: str
    display_name: str


class Me(UserSummary):
    bio: str
    is_admin: bool


class Profile(UserSummary):
    bio: str
    followers_count: int
    following_count: int
    followed_by_viewer: bool
    extras: dict[str, Any]


class RemoteUser(BaseModel):
    """Someone on another instance (see ``salon_follow_list``)."""

    id: str = Field(description="the actor's id (a URL)")
    username: str = Field(description="name@host")
    display_name: str
    url: str


class UserList(BaseModel):
    users: list[UserSummary]
    remote: list[RemoteUser] = Field(default_factory=list, description="people on other instances")


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="shown once; send it as 'Authorization: Bearer <token>'")


class TokenInfo(BaseModel):
    id: int
    kind: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    current: bool


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class InviteCreated(BaseModel):
    code: str


class MemberOut(BaseModel):
    user_id: int
    user: UserSummary | None
    role: str
    on_stage: bool
    hand_raised: bool
    invited_to_speak: bool
    muted: bool
    muted_by_moderator: bool
    joined_order: int
    stage_order: int | None


class RoomOut(BaseModel):
    id: int
    title: str
    description: str
    state: str
    visibility: str
    creator: UserSummary | None
    scheduled_for: datetime | None
    stage: list[MemberOut]
    audience: list[MemberOut]
    listener_count: int
    extras: dict[str, Any] = Field(
        default_factory=dict, description="what plugins add (salon_room_extras)"
    )


class HallwayRoom(RoomOut):
    followed_people: int


class RemotePerson(BaseModel):
    username: str = Field(description="name@host")
    display_name: str


class RemoteMember(BaseModel):
    role: str
    user: RemotePerson


class RemoteHallwayRoom(BaseModel):
    """A room held elsewhere (another server's), from ``salon_hallway_rooms``."""

    id: str = Field(description="the room's URI")
    title: str
    description: str
    state: str
    visibility: str
    creator: RemotePerson | None
    scheduled_for: datetime | None
    stage: list[RemoteMember]
    audience: list[RemoteMember]
    listener_count: int
    extras: dict[str, Any] = Field(default_factory=dict)
    origin: str = Field(description="the host the room is on")
    href: str = Field(description="where this instance's web client goes to join it")
    join_page: str | None = Field(None, description="the room's server's join page, if known")
    join_endpoint: str | None = Field(
        None, description="the room's server's join endpoint, if known"
    )
    followed_people: int


class Hallway(BaseModel):
    rooms: list[HallwayRoom | RemoteHallwayRoom]


class Health(BaseModel):
    status: str


class PluginState(BaseModel):
    name: str
    version: str | None
    enabled: bool
    state: str
    reason: str | None


class PluginList(BaseModel):
    plugins: list[PluginState]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorOut(BaseModel):
    error: ErrorDetail


class SdpType(StrEnum):
    OFFER = "offer"


class AudioOfferBody(Body):
    """A WebRTC SDP offer for one member's audio connection (its size is bounded by
    ``instance.max_body_bytes``)."""

    type: SdpType
    sdp: str = Field(min_length=1)


class IceServer(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class AudioConfig(BaseModel):
    """What a client needs before it offers: ICE servers, downstream audio slots."""

    ice_servers: list[IceServer]
    slots: int


class AudioAnswer(BaseModel):
    type: str
    sdp: str
