"""The one place that answers "may ACTOR do ACTION on RESOURCE".

Every such question in Salon comes here. The ``salon_permission`` hook is asked
first: any plugin answering False denies; otherwise any True allows; when all abstain
the core's default rule below decides.

Actions and their resources:

============================  ===========================  =================================
action                        resource                     default rule
============================  ===========================  =================================
``user.follow``               the User to follow           signed in, not oneself
``user.view``                 the User                     anyone
``user.sign_in``              the User itself              anyone with valid credentials;
                                                           asked at login and on every
                                                           request or socket a session or
                                                           token makes
``instance.federate``         a remote host name (str)     any host; asked by federation
                                                           before accepting from it or
                                                           delivering to it (actor None)
``instance.invite``           None                         admins
``room.create``               None                         signed-in users
``room.view``                 Room                         visibility (see below); open
                                                           rooms also to anonymous visitors
``room.join``                 Room                         visibility, and not removed
``room.audio``                Room                         present members: connect to the
                                                           room's audio (signalling)
``room.open`` ... ``room.end``  RoomTarget(room, user_id)   the room's roles (core/rooms.py)
``payments.send``             the User to be paid          signed in, not oneself
``payments.admin``            None                         admins (payment ledger, refunds)
============================  ===========================  =================================

Room visibility: open rooms admit anyone; social rooms admit followers of anyone on
stage; closed rooms admit their guest list; members-only rooms admit whom a plugin's
``salon_permission`` allows (a group the plugin keeps), the core alone admits nobody
else; the creator, guests and present members always see the room.

A plugin denies with False, or with a string: the reason shown to the person refused.
A few rules come before any plugin and no plugin lifts them (:func:`_fixed_refusal`):
a guest account (``User.home``, core/guests.py) may only view and take part in rooms;
guest accounts cannot be followed or paid here; nobody rejoins a room they were
removed from or that has ended. Social rooms also admit followers a plugin knows of
(``salon_follows``, e.g. a guest's follows kept by federation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from .db import Database
from .errors import Forbidden
from .models import Follow, User
from .plugins import PluginManager
from .rooms import Action, Room, RoomState, Visibility, refusal

USER_FOLLOW = "user.follow"
USER_VIEW = "user.view"
USER_SIGN_IN = "user.sign_in"
INSTANCE_FEDERATE = "instance.federate"
INSTANCE_INVITE = "instance.invite"
ROOM_CREATE = "room.create"
ROOM_VIEW = "room.view"
ROOM_JOIN = "room.join"
ROOM_AUDIO = "room.audio"
PAYMENTS_SEND = "payments.send"
PAYMENTS_ADMIN = "payments.admin"
ROOM_ACTIONS = frozenset(a.value for a in Action)


@dataclass(frozen=True)
class RoomTarget:
    """A room action aimed at one member (or at the room, with ``user_id`` None)."""

    room: Room
    user_id: int | None = None


class Permissions:
    def __init__(self, plugins: PluginManager, db: Database):
        self.plugins = plugins
        self.db = db

    async def allowed(self, actor: User | None, action: str, resource: Any = None) -> bool:
        return (await self.decide(actor, action, resource)) is None

    async def check(self, actor: User | None, action: str, resource: Any = None) -> None:
        """Raise Forbidden, with the reason, unless ACTOR may do ACTION on RESOURCE."""
        reason = await self.decide(actor, action, resource)
        if reason is not None:
            raise Forbidden(reason, code="forbidden")

    async def decide(self, actor: User | None, action: str, resource: Any = None) -> str | None:
        """None if allowed, else why not."""
        fixed = _fixed_refusal(actor, action, resource)
        if fixed is not None:
            return fixed
        opinions = await self.plugins.call(
            "salon_permission", actor=actor, action=action, resource=resource
        )
        reasons = [o for o in opinions if isinstance(o, str) and o]
        if reasons:
            return reasons[0]
        if any(o is False for o in opinions):
            return f"not allowed to {action} here"
        if any(o is True for o in opinions):
            return None
        return await self._default(actor, action, resource)

    async def _default(self, actor: User | None, action: str, resource: Any) -> str | None:
        if action in (USER_VIEW, USER_SIGN_IN, INSTANCE_FEDERATE):
            return None
        if action == ROOM_VIEW and actor is None:
            # Open rooms are for anyone, signed in or not; the others need a who.
            return None if resource.visibility is Visibility.OPEN else "sign in first"
        if actor is None:
            return "sign in first"
        if action == USER_FOLLOW:
            return "you cannot follow yourself" if resource.id == actor.id else None
        if action == INSTANCE_INVITE:
            return None if actor.is_admin else "only admins can create invites"
        if action == ROOM_CREATE:
            return None
        if action == PAYMENTS_SEND:
            return "you cannot pay yourself" if resource.id == actor.id else None
        if action == PAYMENTS_ADMIN:
            return None if actor.is_admin else "only admins can see the payments ledger"
        if action == ROOM_AUDIO:
            return None if actor.id in resource.members else "you are not in this room"
        if action in (ROOM_VIEW, ROOM_JOIN):
            return await self._room_access(actor, resource, action)
        if action in ROOM_ACTIONS:
            return refusal(resource.room, actor.id, action, resource.user_id)
        return f"unknown action {action}"

    async def _room_access(self, actor: User, room: Room, action: str) -> str | None:
        if actor.id == room.creator_id or actor.id in room.members or actor.id in room.invited:
            return None
        if room.visibility is Visibility.OPEN:
            return None
        if room.visibility is Visibility.SOCIAL:
            stage = {m.user_id for m in room.stage()} or {room.creator_id}
            async with self.db.session() as session:
                follow = (
                    await session.exec(
                        select(Follow.id).where(
                            Follow.follower_id == actor.id, Follow.followee_id.in_(stage)
                        )
                    )
                ).first()
            if follow is None:
                # Follows the core's table does not hold (a guest's, kept by a plugin).
                found = await self.plugins.call(
                    "salon_follows", follower=actor, followee_ids=sorted(stage)
                )
                follow = True if any(f is True for f in found) else None
            return None if follow else "this room is for followers of its speakers"
        if room.visibility is Visibility.MEMBERS:
            return "this room is for members"
        return "this room is invite-only"


# What a guest account (``User.home`` set: an account on another server) may do here.
GUEST_ACTIONS = (
    frozenset({USER_VIEW, USER_SIGN_IN, ROOM_VIEW, ROOM_JOIN, ROOM_AUDIO}) | ROOM_ACTIONS
)


def _fixed_refusal(actor: User | None, action: str, resource: Any) -> str | None:
    """Rules no plugin's opinion can lift: what guest accounts may do, and rejoining a
    room one was removed from or that has ended."""
    if actor is not None and actor.home is not None and action not in GUEST_ACTIONS:
        return "a guest from another server can only take part in the room they joined"
    if isinstance(resource, User) and resource.home is not None:
        if action == USER_FOLLOW:
            return "this person's account is on another server: follow them there"
        if action == PAYMENTS_SEND:
            return "this person's account is on another server: they cannot be paid here"
    if action == ROOM_JOIN and isinstance(resource, Room):
        if actor is not None and actor.id in resource.removed:
            return "you were removed from this room and cannot rejoin"
        if resource.state is RoomState.ENDED:
            return "the room has ended"
    return None
