"""The hallway: the live and scheduled rooms a viewer may see, best first.

Ranking: a plugin's boost (``salon_hallway_rank``) first, then rooms with people the
viewer follows (on stage or in the room), then live before scheduled, then by the
number of people in the room, then by start time (soonest first), then newest first.
Rooms held elsewhere (``salon_hallway_rooms``: other servers' rooms) are ranked by the
same rule and listed with their origin.
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
        key = rank_key(
            sum(boosts), followed, room.state.value, len(room.members), room.scheduled_for
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
    for key, room, followed in ranked:
        item = service.room_json_from(room, users, await service.extras(room, viewer))
        item["audience"] = [m for m in item["audience"] if m["user_id"] not in hidden]
        listed.append((key, {**item, "followed_people": followed}))
    for found in await service.plugins.call("salon_hallway_rooms", viewer=viewer):
        for item in found or ():
            listed.append((remote_key(item), item))
    listed.sort(key=lambda pair: pair[0])
    return [item for _, item in listed[:MAX_ROOMS]]


def rank_key(
    boost: int, followed: int, state: str, people: int, scheduled_for: datetime | None
) -> tuple[Any, ...]:
    """The hallway's order, for local and remote rooms alike: boosted first, then rooms
    with people the viewer follows, live before scheduled, fuller first, soonest first."""
    start = scheduled_for or datetime.max.replace(tzinfo=UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return (-boost, -min(followed, 1), 0 if state == RoomState.LIVE.value else 1, -people, start)


def remote_key(item: dict[str, Any]) -> tuple[Any, ...]:
    """:func:`rank_key` of a card from ``salon_hallway_rooms`` (a room held elsewhere)."""
    when = item.get("scheduled_for")
    try:
        start = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        start = None
    return rank_key(
        0,
        int(item.get("followed_people") or 0),
        str(item.get("state")),
        int(item.get("listener_count") or 0),
        start,
    )
