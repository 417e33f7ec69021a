"""Every permission decision of the moderation plugin, in one place.

Answers ``salon_permission`` (False denies, None leaves it to others and the core):

=========================  ===============================================================
action                     rule
=========================  ===============================================================
``user.sign_in``           denied while the account is suspended
``instance.federate``      denied for blocked instances (config or console) and their
                           subdomains
any action on a User, or   denied when the actor and that user have blocked each other
a RoomTarget aimed at a    (either way): ``user.follow``, ``user.view`` (profiles, lists),
user                       ``room.invite_to_speak``, ``room.invite``, ``payments.send``...
                           except the protective ``room.remove``, ``room.mute`` and
                           ``room.move_to_audience``
``room.view``/``room.join``  denied when the actor and the room's creator or anyone on
                           its stage have blocked each other (so the hallway hides it)
``room.invite_to_speak``   also denied when the invitee and anyone on stage have blocked
                           each other
``moderation.console``     allowed to instance moderators (admins and granted users),
                           denied to everyone else
``moderation.admin``       allowed to admins, denied to everyone else (granting moderators)
=========================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salon.core.models import User
from salon.core.permissions import RoomTarget
from salon.core.rooms import Action, Room

from . import blocks, instance_blocks, moderators, suspensions

CONSOLE = "moderation.console"
ADMIN = "moderation.admin"
SIGN_IN = "user.sign_in"
FEDERATE = "instance.federate"
ROOM_VIEW = "room.view"
ROOM_JOIN = "room.join"

# Actions that protect a blocker from the one they blocked: a block never stops them.
PROTECTIVE = frozenset({Action.REMOVE.value, Action.MUTE.value, Action.MOVE_TO_AUDIENCE.value})


class Rules:
    """The plugin's answers; DB is the instance's Database, CONFIG_DOMAINS returns the
    config's blocked instances, ON_BLOCKED_HOST is told when federation asked about a
    host blocked in the database (so that ties are cut even for blocks made offline)."""

    def __init__(
        self,
        db: Any,
        config_domains: Callable[[], list[str]],
        on_blocked_host: Callable[[Any], None] | None = None,
    ):
        self.db = db
        self.blocks = blocks.BlockCache(db)
        self.config_domains = config_domains
        self.on_blocked_host = on_blocked_host

    async def decide(self, actor: User | None, action: str, resource: Any) -> bool | None:
        if action == SIGN_IN:
            return await self._sign_in(resource)
        if action == FEDERATE:
            return await self._federate(resource)
        if action == CONSOLE:
            return actor is not None and await self.is_moderator(actor)
        if action == ADMIN:
            return actor is not None and actor.is_admin
        if actor is None or actor.id is None:
            return None
        if (
            action == Action.INVITE_TO_SPEAK.value
            and isinstance(resource, RoomTarget)
            and await self._invitee_meets_stage(resource)
        ):
            return False
        target = _target_user(resource)
        theirs = await self.blocks.of(actor.id)
        if not theirs:
            return None
        if target is not None and action not in PROTECTIVE and target in theirs:
            return False
        if action in (ROOM_VIEW, ROOM_JOIN) and isinstance(resource, Room):
            people = {m.user_id for m in resource.stage()} | {resource.creator_id}
            if people & theirs:
                return False
        return None

    async def _invitee_meets_stage(self, target: RoomTarget) -> bool:
        """Whether the person invited to speak and anyone on stage blocked each other."""
        if target.user_id is None:
            return False
        stage = {m.user_id for m in target.room.stage()}
        return bool(stage & await self.blocks.of(target.user_id))

    async def is_moderator(self, user: User) -> bool:
        if user.is_admin:
            return True
        async with self.db.session() as session:
            return await moderators.is_granted(session, user.id)  # type: ignore[arg-type]

    async def _sign_in(self, user: Any) -> bool | None:
        if not isinstance(user, User) or user.id is None:
            return None
        async with self.db.session() as session:
            active = await suspensions.active(session, user.id)
        return False if active is not None else None

    async def _federate(self, host: Any) -> bool | None:
        if not isinstance(host, str):
            return None
        if instance_blocks.matches(host, self.config_domains()):
            return False
        async with self.db.session() as session:
            row = await instance_blocks.blocked_in_db(session, host)
        if row is None:
            return None
        if row.announced_at is None and self.on_blocked_host is not None:
            self.on_blocked_host(row)
        return False


def _target_user(resource: Any) -> int | None:
    if isinstance(resource, User):
        return resource.id
    if isinstance(resource, RoomTarget):
        return resource.user_id
    return None
