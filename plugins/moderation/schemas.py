"""The JSON shapes of the moderation API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from salon.core.schemas import MAX_ID, Body, UserSummary

# Any account's name: a local one (30 at most) or a guest's ``name@host``.
ANY_USERNAME = 255

# -- requests ----------------------------------------------------------------------


class ReportBody(Body):
    kind: Literal["user", "room", "club"] = "user"
    reason: str = Field(min_length=1, max_length=20)
    text: str = Field("", max_length=2000)
    username: str | None = Field(None, min_length=1, max_length=ANY_USERNAME)
    room_id: int | None = Field(None, ge=1, le=MAX_ID)
    club_id: int | None = Field(None, ge=1, le=MAX_ID)


class UsernameBody(Body):
    username: str = Field(min_length=1, max_length=ANY_USERNAME)


class SuspendBody(Body):
    username: str = Field(min_length=1, max_length=ANY_USERNAME)
    reason: str = Field(min_length=1, max_length=1000)
    expires_at: datetime | None = Field(
        None, description="ISO 8601 with a time zone; omit (and duration_hours) for permanent"
    )
    duration_hours: float | None = Field(None, gt=0, le=24 * 365 * 10)

    @field_validator("expires_at", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-12-01T18:00:00+00:00")
        return value

    @model_validator(mode="after")
    def _one_expiry(self) -> SuspendBody:
        if self.expires_at is not None and self.duration_hours is not None:
            raise ValueError("give expires_at or duration_hours, not both")
        return self

    def expiry(self) -> datetime | None:
        if self.duration_hours is not None:
            return datetime.now(UTC) + timedelta(hours=self.duration_hours)
        return self.expires_at


class ReasonBody(Body):
    reason: str = Field("", max_length=1000)


class TriageBody(Body):
    state: Literal["resolved", "dismissed"]
    action: Literal["", "suspended", "warned", "removed", "content_removed", "other"] = ""
    note: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _action(self) -> TriageBody:
        if self.state == "resolved" and not self.action:
            raise ValueError("action: a resolved report says what was done")
        return self


class InstanceBody(Body):
    domain: str = Field(min_length=1, max_length=253)
    reason: str = Field("", max_length=1000)


# -- responses ---------------------------------------------------------------------


class Reasons(BaseModel):
    reasons: list[str]


class ReportFiled(BaseModel):
    id: int
    state: str


class ReportOut(BaseModel):
    id: int
    kind: str
    reason: str
    text: str
    reporter: UserSummary | None
    remote_reporter: str | None = Field(
        None, description="the remote actor that sent it, for a report from another server"
    )
    user: UserSummary | None
    room_id: int | None
    club_id: int | None
    context: dict[str, Any]
    state: str
    action: str
    note: str
    handled_by: UserSummary | None
    handled_at: str | None
    created_at: str | None


class ReportList(BaseModel):
    reports: list[ReportOut]


class BlockOut(BaseModel):
    user: UserSummary | None
    created_at: str | None


class BlockList(BaseModel):
    blocks: list[BlockOut]


class BlockMade(BaseModel):
    blocked: UserSummary
    follows_ended: int
    rooms_left: list[int]


class SuspensionOut(BaseModel):
    id: int
    user: UserSummary | None
    by: UserSummary | None
    reason: str
    created_at: str | None
    expires_at: str | None


class SuspensionMade(SuspensionOut):
    removed_from_rooms: list[int]
    rooms_ended: list[int]


class SuspensionList(BaseModel):
    suspensions: list[SuspensionOut]


class InstanceOut(BaseModel):
    domain: str
    source: str
    reason: str
    created_at: str | None


class InstanceList(BaseModel):
    instances: list[InstanceOut]


class ModeratorOut(BaseModel):
    user: UserSummary | None
    how: str


class ModeratorList(BaseModel):
    moderators: list[ModeratorOut]


class AuditOut(BaseModel):
    id: int
    actor: UserSummary | None
    action: str
    target: str
    reason: str
    details: dict[str, Any]
    created_at: str | None


class AuditLog(BaseModel):
    entries: list[AuditOut]


class ContentRulesOut(BaseModel):
    words: list[str]
    patterns: list[str]
