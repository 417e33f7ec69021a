"""The hallway: the live and scheduled rooms a viewer may see, best first.

Ranking: a plugin's boost (``salon_hallway_rank``) first, then rooms with people the
viewer follows (on stage or in the room), then live before scheduled, then by the
number of people in the room, then by start time (soonest first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from . import permissions as perms
from . import room_store
from .models import Follow, RoomRow, User
from .room_service import RoomService, user_summary
from .rooms import RoomState

MAX_ROOMS = 200


async def hallway(service: RoomService, viewer: User | None) -> list[dict[str, Any]]:
    async with service.db.session() as session:
        rows = (
            await session.exec(
                select(RoomRow)
                .where(RoomRow.state.in_([RoomState.LIVE.value, RoomState.SCHEDULED.value]))
                .order_by(RoomRow.id.desc())
                .limit(MAX_ROOMS)
            )
        ).all()
        rooms = await room_store.load_many(session, rows)
        following: set[int] = set()
        if viewer is not None:
            following = set(
                (
                    await session.exec(
                        select(Follow.followee_id).where(Follow.follower_id == viewer.id)
                    )
                ).all()
            )
    ranked = []
    for room in rooms:
        if not await service.permissions.allowed(viewer, perms.ROOM_VIEW, room):
            continue
        boosts = await service.plugins.call("salon_hallway_rank", viewer=viewer, room=room)
        people = set(room.members) | {room.creator_id}
        followed = len(people & following)
        start = room.scheduled_for or datetime.max.replace(tzinfo=UTC)
        key = (
            -sum(boosts),
            -min(followed, 1),
            0 if room.state is RoomState.LIVE else 1,
            -len(room.members),
            start,
            -room.id,
        )
        ranked.append((key, room, followed))
    ranked.sort(key=lambda item: item[0])
    # One query for the people of every listed room, not one per room.
    rows = await service.user_rows(
        u for _, room, _ in ranked for u in (*room.members, room.creator_id)
    )
    users = {uid: user_summary(u) for uid, u in rows.items()}
    # Listeners the viewer may not see (``user.view``) are left out of the audience,
    # each asked about once however many rooms they are in.
    hidden: set[int] = set()
    for uid in {m.user_id for _, room, _ in ranked for m in room.audience()}:
        person = rows.get(uid)
        if (
            person is not None
            and (viewer is None or uid != viewer.id)
            and not await service.permissions.allowed(viewer, perms.USER_VIEW, person)
        ):
            hidden.add(uid)
    listed = []
    for _, room, followed in ranked:
        item = service.room_json_from(room, users, await service.extras(room, viewer))
        item["audience"] = [m for m in item["audience"] if m["user_id"] not in hidden]
        listed.append({**item, "followed_people": followed})
    return listed
