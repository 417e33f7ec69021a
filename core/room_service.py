"""Running room transitions: authorise, apply under the room's lock, store, announce.

One transition is: ask permissions, load the room, apply the state machine, store it,
publish the numbered events to the room's sockets (inside the lock, so a socket's
snapshot and its event stream never overlap), then tell the audio transport and the
``salon_room_event`` hook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlmodel import select

from . import permissions as perms
from . import room_store
from .db import Database
from .errors import Conflict, Unavailable, ValidationFailed
from .events import CLOSE_ENDED, CLOSE_FORBIDDEN, EventHub
from .models import RoomRow, User
from .permissions import Permissions, RoomTarget
from .plugins import PluginManager, await_me_maybe
from .rooms import (
    ENDED,
    MEMBER_LEFT,
    MEMBER_REMOVED,
    MUTE_CHANGED,
    OPENED,
    ROLE_CHANGED,
    SCHEDULED,
    Action,
    Room,
    RoomEvent,
    RoomState,
    Visibility,
)

logger = logging.getLogger(__name__)

SELF_ACTIONS = frozenset({Action.MUTE, Action.MOVE_TO_AUDIENCE})


def user_summary(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


class RoomService:
    def __init__(
        self, db: Database, hub: EventHub, plugins: PluginManager, permissions: Permissions
    ):
        self.db = db
        self.hub = hub
        self.plugins = plugins
        self.permissions = permissions
        self.transport: Any = None
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, room_id: int) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    async def check_content(self, actor: User | None, kind: str, text: str, field: str) -> None:
        reasons = await self.plugins.call("salon_check_content", actor=actor, kind=kind, text=text)
        if reasons:
            raise ValidationFailed(f"{field}: {reasons[0]}", field=field, code="content_refused")

    # -- creating and reading ------------------------------------------------

    async def create(
        self,
        actor: User,
        *,
        title: str,
        description: str = "",
        visibility: Visibility = Visibility.OPEN,
        scheduled_for: datetime | None = None,
    ) -> dict[str, Any]:
        await self.permissions.check(actor, perms.ROOM_CREATE)
        await self.check_content(actor, "room.title", title, "title")
        if description:
            await self.check_content(actor, "room.description", description, "description")
        row = RoomRow(
            title=title,
            description=description,
            creator_id=actor.id,  # type: ignore[arg-type]
            visibility=visibility.value,
            scheduled_for=scheduled_for,
        )
        async with self.db.session() as session:
            session.add(row)
            await session.commit()
            await session.refresh(row)
        logger.info("%s created room %s %r", actor.username, row.id, title)
        if scheduled_for is None:
            return await self.transition(row.id, actor, lambda room: room.open(actor.id))  # type: ignore[arg-type]
        room = await self.load(row.id)  # type: ignore[arg-type]
        await self.plugins.call(
            "salon_room_event", room=room, event=RoomEvent(SCHEDULED, actor_id=actor.id)
        )
        return await self.room_json(room, actor)

    async def load(self, room_id: int) -> Room:
        async with self.db.session() as session:
            _, room = await room_store.load(session, room_id)
        return room

    async def view(self, room_id: int, viewer: User | None) -> dict[str, Any]:
        room = await self.load(room_id)
        await self.permissions.check(viewer, perms.ROOM_VIEW, room)
        return await self.room_json(room, viewer)

    async def snapshot(self, room_id: int, viewer: User | None) -> tuple[dict[str, Any], Any]:
        """A consistent snapshot and a subscription starting right after it."""
        async with self.lock(room_id):
            room = await self.load(room_id)
            await self.permissions.check(viewer, perms.ROOM_VIEW, room)
            epoch, seq = self.hub.position(room_id)
            sub = self.hub.subscribe(room_id, viewer.id if viewer else None)
        body = await self.room_json(room, viewer)
        return {"type": "snapshot", "seq": seq, "epoch": epoch, "room": body}, sub

    # -- transitions -------------------------------------------------------

    async def join(self, room_id: int, actor: User) -> dict[str, Any]:
        async def authorise(room: Room) -> None:
            await self.permissions.check(actor, perms.ROOM_JOIN, room)

        return await self.transition(
            room_id, actor, lambda room: room.join(actor.id), authorise=authorise
        )

    async def moderate(
        self, room_id: int, actor: User, action: Action, target_id: int | None, **kwargs: Any
    ) -> dict[str, Any]:
        """A transition one member performs on another (or on the room)."""

        async def authorise(room: Room) -> None:
            if target_id == actor.id and action in SELF_ACTIONS:
                return  # one's own microphone or stepping down: the room's rule alone
            await self.permissions.check(actor, action.value, RoomTarget(room, target_id))

        def apply(room: Room) -> list[RoomEvent]:
            a = actor.id
            match action:
                case Action.OPEN:
                    return room.open(a)
                case Action.INVITE_TO_SPEAK:
                    return room.invite_to_speak(a, target_id)
                case Action.MOVE_TO_AUDIENCE:
                    return room.move_to_audience(a, target_id)
                case Action.MAKE_MODERATOR:
                    return room.make_moderator(a, target_id)
                case Action.MUTE:
                    return room.set_muted(a, target_id, kwargs["muted"])
                case Action.REMOVE:
                    return room.remove(a, target_id)
                case Action.INVITE:
                    return room.invite_guest(a, target_id)
                case Action.UPDATE:
                    return room.update(a, **kwargs)
                case Action.END:
                    return room.end(a)
            raise AssertionError(f"unhandled room action {action}")

        needs_target = action not in (Action.OPEN, Action.END, Action.UPDATE)
        if needs_target and target_id is not None:
            await self._require_user(target_id)
        return await self.transition(room_id, actor, apply, authorise=authorise)

    async def transition(
        self,
        room_id: int,
        actor: User,
        apply: Callable[[Room], list[RoomEvent]],
        *,
        authorise: Callable[[Room], Any] | None = None,
    ) -> dict[str, Any]:
        async with self.lock(room_id):
            async with self.db.session() as session:
                stored, room = await room_store.load(session, room_id)
                if authorise is not None:
                    await authorise(room)
                events = apply(room)
                await room_store.store(session, stored, room)
            users = await self.users(
                [e.user_id for e in events if e.user_id] + list(room.members) + [room.creator_id]
            )
            for event in events:
                self.hub.publish(room_id, self.event_json(room, event, users))
                if event.kind == MEMBER_REMOVED and event.user_id is not None:
                    # A removed member's sockets end after that event (and don't retry).
                    self.hub.close_room(room_id, event.user_id, code=CLOSE_FORBIDDEN)
            if room.state is RoomState.ENDED:
                self.hub.close_room(room_id, code=CLOSE_ENDED)
        for event in events:
            logger.info(
                "room %s: %s (user %s, by %s)", room_id, event.kind, event.user_id, actor.username
            )
            await self._drive_transport(room, event)
            await self.plugins.call("salon_room_event", room=room, event=event)
        return self.room_json_from(room, users, await self.extras(room, actor))

    async def _drive_transport(self, room: Room, event: RoomEvent) -> None:
        """Tell the audio transport what changed (it enforces moderators' mutes)."""
        t = self.transport
        if t is None:
            return
        try:
            member = room.members.get(event.user_id) if event.user_id else None
            if event.kind == OPENED:
                await await_me_maybe(t.open(room.id))
            elif event.kind == ENDED:
                await await_me_maybe(t.close(room.id))
            elif event.kind in (MEMBER_LEFT, MEMBER_REMOVED):
                await await_me_maybe(t.disconnect(room.id, event.user_id))
            elif event.kind == ROLE_CHANGED and member:
                await await_me_maybe(t.set_role(room.id, member.user_id, member.role.value))
            elif event.kind == MUTE_CHANGED and member:
                await await_me_maybe(t.set_muted(room.id, member.user_id, member.muted))
        except Exception:
            logger.exception("audio transport failed on %s in room %s", event.kind, room.id)

    async def connect_audio(self, room_id: int, actor: User, offer: str) -> str:
        """Hand a present member's SDP offer to the audio transport; return its answer.

        The negotiation runs outside the room's lock; afterwards, under the lock, the
        transport is told the member's current role and mute (or that they left), so a
        transition that raced the negotiation is not lost.
        """
        t = self.transport
        room = await self.load(room_id)
        await self.permissions.check(actor, perms.ROOM_AUDIO, room)
        if t is None:
            raise Unavailable("no audio transport is running on this instance")
        member = room.members.get(actor.id)  # type: ignore[arg-type]
        if member is None:
            raise Conflict("join the room before connecting its audio")
        answer = await await_me_maybe(t.connect(room_id, actor.id, member.role.value, offer))
        async with self.lock(room_id):
            member = (await self.load(room_id)).members.get(actor.id)  # type: ignore[arg-type]
            if member is None:
                await await_me_maybe(t.disconnect(room_id, actor.id))
                raise Conflict("you left the room while connecting its audio")
            await await_me_maybe(t.set_role(room_id, actor.id, member.role.value))
            await await_me_maybe(t.set_muted(room_id, actor.id, member.muted))
        return answer

    # -- serialising ------------------------------------------------------

    async def _require_user(self, user_id: int) -> User:
        async with self.db.session() as session:
            user = await session.get(User, user_id)
        if user is None or user.deleted_at is not None:
            raise ValidationFailed(f"no user with id {user_id}", field="user_id", code="not_found")
        return user

    async def user_rows(self, ids: Iterable[int]) -> dict[int, User]:
        """The users with these ids, in one query."""
        wanted = set(ids)
        if not wanted:
            return {}
        async with self.db.session() as session:
            rows = (await session.exec(select(User).where(User.id.in_(wanted)))).all()
        return {u.id: u for u in rows}  # type: ignore[misc]

    async def users(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {uid: user_summary(u) for uid, u in (await self.user_rows(ids)).items()}

    async def extras(self, room: Room, viewer: User | None) -> dict[str, Any]:
        """What plugins add to the room as VIEWER sees it (``salon_room_extras``)."""
        merged: dict[str, Any] = {}
        for found in await self.plugins.call("salon_room_extras", room=room, viewer=viewer):
            merged.update(found)
        return merged

    async def room_json(self, room: Room, viewer: User | None = None) -> dict[str, Any]:
        users = await self.users([*room.members, room.creator_id])
        return self.room_json_from(room, users, await self.extras(room, viewer))

    def room_json_from(
        self,
        room: Room,
        users: dict[int, dict[str, Any]],
        extras: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        def member(m: Any) -> dict[str, Any]:
            return {**m.to_dict(), "user": users.get(m.user_id)}

        return {
            "id": room.id,
            "title": room.title,
            "description": room.description,
            "state": room.state.value,
            "visibility": room.visibility.value,
            "creator": users.get(room.creator_id),
            "scheduled_for": room.scheduled_for.isoformat() if room.scheduled_for else None,
            "stage": [member(m) for m in room.stage()],
            "audience": [member(m) for m in room.audience()],
            "listener_count": len(room.members),
            "extras": extras or {},
        }

    def event_json(
        self, room: Room, event: RoomEvent, users: dict[int, dict[str, Any]]
    ) -> dict[str, Any]:
        m = room.members.get(event.user_id) if event.user_id is not None else None
        return {
            "kind": event.kind,
            "user_id": event.user_id,
            "actor_id": event.actor_id,
            "user": users.get(event.user_id) if event.user_id else None,
            "member": {**m.to_dict(), "user": users.get(m.user_id)} if m else None,
            "room": {
                "title": room.title,
                "description": room.description,
                "state": room.state.value,
                "listener_count": len(room.members),
            },
        }
