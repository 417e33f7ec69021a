"""The audit log: every moderation action, who did it, on what, when and why."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import AuditEntry

# What the log records (the ``action`` column).
BLOCK = "block"
UNBLOCK = "unblock"
SUSPEND = "suspend"
UNSUSPEND = "unsuspend"
REPORT_FILED = "report.filed"
REPORT_RESOLVED = "report.resolved"
REPORT_DISMISSED = "report.dismissed"
MODERATOR_GRANTED = "moderator.granted"
MODERATOR_REVOKED = "moderator.revoked"
INSTANCE_BLOCKED = "instance.blocked"
INSTANCE_UNBLOCKED = "instance.unblocked"
RULES_RELOADED = "content_rules.reloaded"
ROOM_REMOVED = "room.removed"
ROOM_ENDED = "room.ended"
ACCOUNT_DELETED = "account.deleted"  # its blocks and moderator grant went with it


def record(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    target: str = "",
    reason: str = "",
    /,
    **details: Any,
) -> AuditEntry:
    """Add an entry to SESSION; the caller commits it with the change it records."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target=target[:300],
        reason=reason[:1000],
        details=json.dumps(details, default=str),
    )
    session.add(entry)
    return entry


async def entries(
    session: AsyncSession, *, limit: int = 200, before: int | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    return list((await session.exec(query)).all())
