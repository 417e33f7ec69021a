"""Reports about a user, a room or a club, and their triage by moderators.

A report moves from ``open`` to ``resolved`` (with the action taken) or ``dismissed``,
each with a note; it is never deleted. Only moderators read reports, so the reported
never learn who reported them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from salon.core.errors import Conflict

from .models import Report

KINDS = ("user", "room", "club")
OPEN, RESOLVED, DISMISSED = "open", "resolved", "dismissed"
STATES = (OPEN, RESOLVED, DISMISSED)
# What "resolved" can say was done.
ACTIONS = ("suspended", "warned", "removed", "content_removed", "other")


def new(
    reporter_id: int | None,
    *,
    kind: str,
    reason: str,
    text: str = "",
    user_id: int | None = None,
    room_id: int | None = None,
    club_id: int | None = None,
    context: list[dict[str, Any]] | dict[str, Any] | None = None,
    remote_reporter: str = "",
) -> Report:
    """A report by a local user (REPORTER_ID), or by the remote actor REMOTE_REPORTER
    (then REPORTER_ID is None)."""
    return Report(
        reporter_id=reporter_id,
        remote_reporter=remote_reporter,
        kind=kind,
        reason=reason,
        text=text,
        user_id=user_id,
        room_id=room_id,
        club_id=club_id,
        context=json.dumps(context or {}, default=str),
    )


async def listing(
    session: AsyncSession, state: str | None = None, limit: int = 200
) -> list[Report]:
    query = select(Report).order_by(col(Report.id).desc()).limit(limit)
    if state:
        query = query.where(Report.state == state)
    return list((await session.exec(query)).all())


def triage(report: Report, moderator_id: int, state: str, action: str, note: str) -> None:
    """Close an open report as resolved (with ACTION) or dismissed."""
    if report.state != OPEN:
        raise Conflict(f"report {report.id} is already {report.state}", field="state")
    report.state = state
    report.action = action if state == RESOLVED else ""
    report.note = note
    report.handled_by = moderator_id
    report.handled_at = datetime.now(UTC)
