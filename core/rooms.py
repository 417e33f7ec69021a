"""The room state machine: the single authority on who is where in a room.

Plain Python with no I/O, so tests drive it directly (DESIGN.md section 4). Each
transition checks the actor's authority with :func:`refusal`, changes the room and
returns the :class:`RoomEvent`s that describe the change; a refused transition raises
and leaves the room untouched.

Roles rank host > moderator > speaker > listener. Hosts, moderators and speakers are
"on stage". A moderator acts on speakers and listeners; a host on anyone but
themselves. When the last host leaves, the longest-standing moderator takes over,
then the longest-standing speaker; a room whose stage empties, or with no one left,
ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .errors import Conflict, Forbidden


class Role(StrEnum):
    HOST = "host"
    MODERATOR = "moderator"
    SPEAKER = "speaker"
    LISTENER = "listener"


RANK = {Role.HOST: 3, Role.MODERATOR: 2, Role.SPEAKER: 1, Role.LISTENER: 0}
STAGE_ROLES = frozenset({Role.HOST, Role.MODERATOR, Role.SPEAKER})


class RoomState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class Visibility(StrEnum):
    OPEN = "open"  # anyone, anywhere
    SOCIAL = "social"  # followers of the speakers
    CLOSED = "closed"  # invited only
    MEMBERS = "members"  # members of a group a plugin defines (e.g. a community)


class RoomRefused(Conflict):
    """The room's state does not allow this transition (409)."""

    code = "room_refused"


class RoomForbidden(Forbidden):
    """The actor's role in the room does not allow this transition (403)."""

    code = "room_forbidden"


class Action(StrEnum):
    """Moderation actions whose authority :func:`refusal` decides."""

    OPEN = "room.open"
    INVITE_TO_SPEAK = "room.invite_to_speak"
    MOVE_TO_AUDIENCE = "room.move_to_audience"
    MAKE_MODERATOR = "room.make_moderator"
    MUTE = "room.mute"
    REMOVE = "room.remove"
    INVITE = "room.invite"
    END = "room.end"
    UPDATE = "room.update"


@dataclass
class Member:
    user_id: int
    role: Role
    joined_order: int
    stage_order: int | None = None
    hand_raised: bool = False
    invited_to_speak: bool = False
    muted: bool = True
    muted_by_moderator: bool = False

    @property
    def on_stage(self) -> bool:
        return self.role in STAGE_ROLES

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "role": self.role.value,
            "on_stage": self.on_stage,
            "hand_raised": self.hand_raised,
            "invited_to_speak": self.invited_to_speak,
            "muted": self.muted,
            "muted_by_moderator": self.muted_by_moderator,
            "joined_order": self.joined_order,
            "stage_order": self.stage_order,
        }


@dataclass(frozen=True)
class RoomEvent:
    """One change to a room. ``user_id`` is the member it concerns, if any."""

    kind: str
    user_id: int | None = None
    actor_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


# Event kinds, documented in README.md ("Live room events").
SCHEDULED = "scheduled"  # created for later: told to plugins only (no socket yet)
OPENED = "opened"
UPDATED = "updated"
MEMBER_JOINED = "member_joined"
MEMBER_LEFT = "member_left"
MEMBER_REMOVED = "member_removed"
ROLE_CHANGED = "role_changed"
HAND_RAISED = "hand_raised"
HAND_LOWERED = "hand_lowered"
INVITED_TO_SPEAK = "invited_to_speak"
INVITATION_DECLINED = "invitation_declined"
MUTE_CHANGED = "mute_changed"
GUEST_INVITED = "guest_invited"
ENDED = "ended"


@dataclass
class Room:
    """A room's whole state. ``invited`` is the guest list that closed rooms admit."""

    id: int
    title: str
    creator_id: int
    visibility: Visibility = Visibility.OPEN
    state: RoomState = RoomState.SCHEDULED
    description: str = ""
    scheduled_for: datetime | None = None
    members: dict[int, Member] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)
    invited: set[int] = field(default_factory=set)
    order: int = 0

    # -- queries -----------------------------------------------------------

    def member(self, user_id: int) -> Member:
        try:
            return self.members[user_id]
        except KeyError:
            raise RoomRefused(f"user {user_id} is not in this room", field="user_id") from None

    def hosts(self) -> list[Member]:
        return [m for m in self.members.values() if m.role is Role.HOST]

    def stage(self) -> list[Member]:
        return sorted(
            (m for m in self.members.values() if m.on_stage),
            key=lambda m: (-RANK[m.role], m.stage_order or 0),
        )

    def audience(self) -> list[Member]:
        return sorted(
            (m for m in self.members.values() if not m.on_stage), key=lambda m: m.joined_order
        )

    def role_of(self, user_id: int) -> Role | None:
        m = self.members.get(user_id)
        return m.role if m else None

    # -- transitions -------------------------------------------------------

    def open(self, actor_id: int) -> list[RoomEvent]:
        """Scheduled -> live; the actor (the room's creator) enters as host."""
        self._check(Action.OPEN, actor_id)
        if self.state is not RoomState.SCHEDULED:
            raise RoomRefused(f"the room is {self.state.value}, not scheduled")
        self.state = RoomState.LIVE
        self.members.clear()
        member = self._add(actor_id, Role.HOST)
        return [
            RoomEvent(OPENED, actor_id=actor_id),
            RoomEvent(MEMBER_JOINED, user_id=actor_id, actor_id=actor_id, data=_m(member)),
        ]

    def join(self, user_id: int) -> list[RoomEvent]:
        """Enter as a listener (the creator re-enters as host). Who may see the room at
        all (visibility, blocks) is asked of permissions before this is called."""
        self._require_live()
        if user_id in self.removed:
            raise RoomForbidden("you were removed from this room and cannot rejoin")
        if user_id in self.members:
            raise RoomRefused("you are already in this room")
        role = Role.HOST if user_id == self.creator_id else Role.LISTENER
        member = self._add(user_id, role)
        return [RoomEvent(MEMBER_JOINED, user_id=user_id, actor_id=user_id, data=_m(member))]

    def leave(self, user_id: int) -> list[RoomEvent]:
        self._require_live()
        self.member(user_id)
        del self.members[user_id]
        return [RoomEvent(MEMBER_LEFT, user_id=user_id, actor_id=user_id), *self._succession()]

    def raise_hand(self, user_id: int) -> list[RoomEvent]:
        self._require_live()
        m = self.member(user_id)
        if m.on_stage:
            raise RoomRefused("you are already on stage")
        if m.hand_raised:
            raise RoomRefused("your hand is already raised")
        m.hand_raised = True
        return [RoomEvent(HAND_RAISED, user_id=user_id, actor_id=user_id, data=_m(m))]

    def lower_hand(self, user_id: int) -> list[RoomEvent]:
        self._require_live()
        m = self.member(user_id)
        if not m.hand_raised:
            raise RoomRefused("your hand is not raised")
        m.hand_raised = False
        return [RoomEvent(HAND_LOWERED, user_id=user_id, actor_id=user_id, data=_m(m))]

    def invite_to_speak(self, actor_id: int, target_id: int) -> list[RoomEvent]:
        self._require_live()
        self._check(Action.INVITE_TO_SPEAK, actor_id, target_id)
        m = self.member(target_id)
        if m.on_stage:
            raise RoomRefused("that member is already on stage", field="user_id")
        if m.invited_to_speak:
            raise RoomRefused("that member is already invited to speak", field="user_id")
        m.invited_to_speak = True
        return [RoomEvent(INVITED_TO_SPEAK, user_id=target_id, actor_id=actor_id, data=_m(m))]

    def accept_invitation(self, user_id: int) -> list[RoomEvent]:
        self._require_live()
        m = self.member(user_id)
        if not m.invited_to_speak:
            raise RoomRefused("you have not been invited to speak")
        self._set_role(m, Role.SPEAKER)
        return [RoomEvent(ROLE_CHANGED, user_id=user_id, actor_id=user_id, data=_m(m))]

    def decline_invitation(self, user_id: int) -> list[RoomEvent]:
        self._require_live()
        m = self.member(user_id)
        if not m.invited_to_speak:
            raise RoomRefused("you have not been invited to speak")
        m.invited_to_speak = False
        return [RoomEvent(INVITATION_DECLINED, user_id=user_id, actor_id=user_id, data=_m(m))]

    def move_to_audience(self, actor_id: int, target_id: int) -> list[RoomEvent]:
        """A moderator moves someone off stage; anyone but a host may step down."""
        self._require_live()
        if actor_id != target_id:
            self._check(Action.MOVE_TO_AUDIENCE, actor_id, target_id)
        m = self.member(target_id)
        if not m.on_stage:
            raise RoomRefused("that member is not on stage", field="user_id")
        if m.role is Role.HOST:
            raise RoomRefused("a host cannot be moved to the audience", field="user_id")
        self._set_role(m, Role.LISTENER)
        return [
            RoomEvent(ROLE_CHANGED, user_id=target_id, actor_id=actor_id, data=_m(m)),
            *self._succession(),
        ]

    def make_moderator(self, actor_id: int, target_id: int) -> list[RoomEvent]:
        """A host promotes a speaker to moderator."""
        self._require_live()
        self._check(Action.MAKE_MODERATOR, actor_id, target_id)
        m = self.member(target_id)
        if m.role is not Role.SPEAKER:
            raise RoomRefused("only a speaker can be made a moderator", field="user_id")
        self._set_role(m, Role.MODERATOR)
        return [RoomEvent(ROLE_CHANGED, user_id=target_id, actor_id=actor_id, data=_m(m))]

    def set_muted(self, actor_id: int, target_id: int, muted: bool) -> list[RoomEvent]:
        """Mute or unmute. On oneself this is the microphone switch, refused while a
        moderator's mute holds. A moderator's mute on someone else holds until a
        moderator lifts it; lifting it lets the speaker unmute, it never opens
        anyone's microphone for them."""
        self._require_live()
        m = self.member(target_id)
        if not m.on_stage:
            raise RoomRefused("only members on stage have a microphone", field="user_id")
        if actor_id == target_id:
            if not muted and m.muted_by_moderator:
                raise RoomForbidden("a moderator muted you; only a moderator can lift it")
            m.muted = muted
        else:
            self._check(Action.MUTE, actor_id, target_id)
            m.muted_by_moderator = muted
            if muted:
                m.muted = True
        return [RoomEvent(MUTE_CHANGED, user_id=target_id, actor_id=actor_id, data=_m(m))]

    def remove(self, actor_id: int, target_id: int) -> list[RoomEvent]:
        """Remove a member; they cannot rejoin this room."""
        self._require_live()
        self._check(Action.REMOVE, actor_id, target_id)
        self.member(target_id)
        del self.members[target_id]
        self.removed.add(target_id)
        self.invited.discard(target_id)
        return [
            RoomEvent(MEMBER_REMOVED, user_id=target_id, actor_id=actor_id),
            *self._succession(),
        ]

    def invite_guest(self, actor_id: int, user_id: int) -> list[RoomEvent]:
        """Put someone on the guest list (what a closed room admits)."""
        self._check(Action.INVITE, actor_id, user_id)
        if user_id in self.removed:
            raise RoomRefused("that user was removed from this room", field="user_id")
        if user_id in self.invited:
            raise RoomRefused("that user is already invited", field="user_id")
        self.invited.add(user_id)
        return [RoomEvent(GUEST_INVITED, user_id=user_id, actor_id=actor_id)]

    def update(
        self, actor_id: int, *, title: str | None = None, description: str | None = None
    ) -> list[RoomEvent]:
        self._check(Action.UPDATE, actor_id)
        if title is not None:
            self.title = title
        if description is not None:
            self.description = description
        data = {"title": self.title, "description": self.description}
        return [RoomEvent(UPDATED, actor_id=actor_id, data=data)]

    def end(self, actor_id: int) -> list[RoomEvent]:
        self._check(Action.END, actor_id)
        return self._end(actor_id)

    # -- internals ---------------------------------------------------------

    def _check(self, action: Action, actor_id: int, target_id: int | None = None) -> None:
        if self.state is RoomState.ENDED:
            raise RoomRefused("the room has ended")
        reason = refusal(self, actor_id, action, target_id)
        if reason:
            raise RoomForbidden(reason)

    def _require_live(self) -> None:
        if self.state is not RoomState.LIVE:
            raise RoomRefused(f"the room is {self.state.value}, not live")

    def _next(self) -> int:
        self.order += 1
        return self.order

    def _add(self, user_id: int, role: Role) -> Member:
        member = Member(user_id=user_id, role=role, joined_order=self._next())
        if role in STAGE_ROLES:
            member.stage_order = member.joined_order
        self.members[user_id] = member
        return member

    def _set_role(self, m: Member, role: Role) -> None:
        was_on_stage = m.on_stage
        m.role = role
        m.hand_raised = False
        m.invited_to_speak = False
        if role in STAGE_ROLES and not was_on_stage:
            m.stage_order = self._next()
            m.muted = True
        if role not in STAGE_ROLES:
            m.stage_order = None
            m.muted = True
            m.muted_by_moderator = False

    def _succession(self) -> list[RoomEvent]:
        if not self.members:
            return self._end(None)
        hosts = self.hosts()
        if len(hosts) == 1 and hosts[0].muted_by_moderator:
            # Nobody may act on a sole host, so a mute on them could never be lifted.
            hosts[0].muted_by_moderator = False
            return [RoomEvent(MUTE_CHANGED, user_id=hosts[0].user_id, data=_m(hosts[0]))]
        if hosts:
            return []
        for role in (Role.MODERATOR, Role.SPEAKER):
            candidates = [m for m in self.members.values() if m.role is role]
            if candidates:
                heir = min(candidates, key=lambda m: m.stage_order or 0)
                heir.role = Role.HOST
                heir.muted_by_moderator = False  # as for a sole host, above
                return [RoomEvent(ROLE_CHANGED, user_id=heir.user_id, data=_m(heir))]
        # Nobody is left on stage to carry the room: it ends.
        return self._end(None)

    def _end(self, actor_id: int | None) -> list[RoomEvent]:
        self.state = RoomState.ENDED
        self.members.clear()
        return [RoomEvent(ENDED, actor_id=actor_id)]


def refusal(room: Room, actor_id: int, action: str, target_id: int | None = None) -> str | None:
    """Why ACTOR may not do ACTION in ROOM (to TARGET), or None if the room's roles allow it.

    This is the room's own rule; core/permissions.py consults it as the default answer
    for room actions, after the ``salon_permission`` hook.
    """
    if action == Action.OPEN:
        return None if actor_id == room.creator_id else "only the room's creator can open it"
    if room.state is RoomState.SCHEDULED and action in (Action.UPDATE, Action.END, Action.INVITE):
        return None if actor_id == room.creator_id else "only the room's creator can do this"
    actor = room.members.get(actor_id)
    if actor is None:
        return "you are not in this room"
    if action in (Action.MAKE_MODERATOR, Action.UPDATE):
        return None if actor.role is Role.HOST else "only a host can do this"
    if RANK[actor.role] < RANK[Role.MODERATOR]:
        return "only a host or moderator can do this"
    if action in (Action.INVITE, Action.END) or target_id is None:
        return None
    if target_id == actor_id:
        return "you cannot do this to yourself"
    target = room.members.get(target_id)
    if target is not None and actor.role is not Role.HOST and RANK[target.role] >= RANK[actor.role]:
        return "a moderator can act only on speakers and listeners"
    return None


def _m(member: Member) -> dict[str, Any]:
    return {"member": member.to_dict()}
