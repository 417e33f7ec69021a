"""The reports desk of one instance: reports filed by local people and by other servers
(``Flag``), with the room's recent context, listed and triaged by moderators.

The rules of a report's life are in :mod:`.reports`, the reading of a ``Flag`` in
:mod:`.remote_reports`; this module stores them with their audit entries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from salon.core.errors import NotFound, ValidationFailed
from salon.core.models import RoomRow, User

from . import audit, remote_reports, reports
from .models import Report, iso, user_json

if TYPE_CHECKING:
    from .service import Moderation

logger = logging.getLogger(__name__)


async def _store(
    session: AsyncSession, row: Report, reporter_id: int | None, target: User | None, **details: Any
) -> None:
    """Add a new report with its audit entry (the caller commits)."""
    session.add(row)
    await session.flush()
    audit.record(
        session,
        reporter_id,
        audit.REPORT_FILED,
        f"report:{row.id}",
        row.reason,
        kind=row.kind,
        user=target.username if target else None,
        room_id=row.room_id,
        **details,
    )


class ReportDesk:
    """Filing, receiving, listing and triaging reports for one :class:`Moderation`."""

    def __init__(self, moderation: Moderation):
        self.mod = moderation

    async def _users(self, ids: Iterable[int | None]) -> dict[int, User]:
        return await self.mod.rooms.user_rows(i for i in ids if i)

    async def file(
        self,
        reporter: User,
        *,
        kind: str,
        reason: str,
        text: str,
        username: str | None,
        room_id: int | None,
        club_id: int | None,
    ) -> dict[str, Any]:
        reasons = self.mod.settings.report_reasons
        if reason not in reasons:
            raise ValidationFailed(f"reason must be one of {', '.join(reasons)}", field="reason")
        target: User | None = None
        if kind == "user":
            if not username:
                raise ValidationFailed("a report about a user names them", field="username")
            target = await self.mod.user_named(username)
            if target.id == reporter.id:
                raise ValidationFailed("you cannot report yourself", field="username")
        if kind == "room" and room_id is None:
            raise ValidationFailed("a report about a room gives its room_id", field="room_id")
        if kind == "club" and club_id is None:
            raise ValidationFailed("a report about a club gives its club_id", field="club_id")
        context: dict[str, Any] = {}
        if room_id is not None:
            context = await self.room_context(room_id)
        row = reports.new(
            reporter.id,  # type: ignore[arg-type]
            kind=kind,
            reason=reason,
            text=text,
            user_id=target.id if target else None,
            room_id=room_id,
            club_id=club_id,
            context=context,
        )
        async with self.mod.db.session() as session:
            await _store(session, row, reporter.id, target, club_id=club_id)
            await session.commit()
            await session.refresh(row)
        logger.info("%s filed report %s (%s, %s)", reporter.username, row.id, kind, reason)
        return {"id": row.id, "state": row.state}

    async def receive_flag(self, activity: dict[str, Any], sender: str) -> list[int]:
        """File the reports a remote server's ``Flag`` makes (verified by federation,
        sent by SENDER): one about each local user it names, with the first room it
        names for context, or else one about each room. What is not here is logged and
        ignored. Returns the new reports' ids."""
        base_url = self.mod.app.state.settings.instance.base_url
        if remote_reports.same_origin(sender, base_url):
            return []  # local people report through the API
        flag = remote_reports.read_flag(activity, base_url)
        async with self.mod.db.session() as session:
            users: list[User] = []
            if flag.usernames:
                # A deleted account's row stays as a tombstone: nobody left to report.
                users = list(
                    (
                        await session.exec(
                            select(User).where(
                                col(User.username).in_(flag.usernames),
                                col(User.deleted_at).is_(None),
                            )
                        )
                    ).all()
                )
            room_ids: list[int] = []
            if flag.room_ids:
                here = set(
                    (
                        await session.exec(
                            select(RoomRow.id).where(col(RoomRow.id).in_(flag.room_ids))
                        )
                    ).all()
                )
                room_ids = [r for r in flag.room_ids if r in here]
        named = {u.username for u in users}
        unknown = [
            *flag.unknown,
            *(f"user {n}" for n in flag.usernames if n not in named),
            *(f"room {r}" for r in flag.room_ids if r not in room_ids),
        ]
        if unknown:
            logger.warning(
                "Flag %s from %s names what is not on this instance (ignored): %s",
                activity.get("id"),
                sender,
                ", ".join(unknown),
            )
        if not users and not room_ids:
            return []
        context: dict[str, Any] = {}
        if room_ids:
            context = await self.room_context(room_ids[0])
        context["remote"] = {
            "actor": sender,
            "activity": activity.get("id"),
            "objects": remote_reports.object_ids(activity.get("object")),
        }
        reason = remote_reports.reason_for(self.mod.settings.report_reasons)
        targets = (
            [("user", u, room_ids[0] if room_ids else None) for u in users]
            if users
            else [("room", None, r) for r in room_ids]
        )
        rows: list[Report] = []
        async with self.mod.db.session() as session:
            for kind, target, room_id in targets:
                row = reports.new(
                    None,
                    kind=kind,
                    reason=reason,
                    text=flag.text,
                    user_id=target.id if target else None,
                    room_id=room_id,
                    context=context,
                    remote_reporter=sender,
                )
                await _store(session, row, None, target, remote=sender)
                rows.append(row)
            await session.commit()
        ids = [r.id for r in rows if r.id is not None]
        about = [t.username if t else f"room {r}" for _, t, r in targets]
        logger.info("%s reported %s from its server: reports %s", sender, ", ".join(about), ids)
        return ids

    async def room_context(self, room_id: int) -> dict[str, Any]:
        """The room as it is now and its recent events, with people named."""
        async with self.mod.db.session() as session:
            exists = await session.get(RoomRow, room_id)
        if exists is None:
            raise NotFound(f"no room with id {room_id}", field="room_id")
        room = await self.mod.rooms.load(room_id)
        events = self.mod.context.recent(room_id)
        ids = {room.creator_id, *room.members}
        ids.update(e["user_id"] for e in events if e["user_id"])
        ids.update(e["actor_id"] for e in events if e["actor_id"])
        users = await self._users(ids)

        def name(uid: int | None) -> str | None:
            return users[uid].username if uid in users else None

        return {
            "room": {
                "id": room.id,
                "title": room.title,
                "state": room.state.value,
                "creator": name(room.creator_id),
                "stage": [name(m.user_id) for m in room.stage()],
                "audience": [name(m.user_id) for m in room.audience()],
            },
            "events": [
                {**e, "user": name(e["user_id"]), "actor": name(e["actor_id"])} for e in events
            ],
        }

    async def listing(self, state: str | None) -> list[dict[str, Any]]:
        async with self.mod.db.session() as session:
            rows = await reports.listing(session, state)
        users = await self._users(i for r in rows for i in (r.reporter_id, r.user_id, r.handled_by))
        return [report_json(r, users) for r in rows]

    async def get(self, report_id: int) -> dict[str, Any]:
        async with self.mod.db.session() as session:
            row = await session.get(Report, report_id)
        if row is None:
            raise NotFound(f"no report with id {report_id}", field="report_id")
        return report_json(row, await self._users((row.reporter_id, row.user_id, row.handled_by)))

    async def triage(
        self, moderator: User, report_id: int, state: str, action: str, note: str
    ) -> dict[str, Any]:
        async with self.mod.db.session() as session:
            row = await session.get(Report, report_id)
            if row is None:
                raise NotFound(f"no report with id {report_id}", field="report_id")
            reports.triage(row, moderator.id, state, action, note)  # type: ignore[arg-type]
            session.add(row)
            kind = audit.REPORT_RESOLVED if state == reports.RESOLVED else audit.REPORT_DISMISSED
            audit.record(session, moderator.id, kind, f"report:{report_id}", note, action=action)
            await session.commit()
        return await self.get(report_id)


def report_json(row: Report, users: dict[int, User]) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "reason": row.reason,
        "text": row.text,
        "reporter": user_json(users.get(row.reporter_id)) if row.reporter_id else None,
        "remote_reporter": row.remote_reporter or None,
        "user": user_json(users.get(row.user_id)) if row.user_id else None,
        "room_id": row.room_id,
        "club_id": row.club_id,
        "context": json.loads(row.context or "{}"),
        "state": row.state,
        "action": row.action,
        "note": row.note,
        "handled_by": user_json(users.get(row.handled_by)) if row.handled_by else None,
        "handled_at": iso(row.handled_at),
        "created_at": iso(row.created_at),
    }
