"""Every club permission decision, in one place.

Salon asks "may ACTOR do ACTION on RESOURCE" through ``app.state.permissions``, which
asks each plugin's ``salon_permission``; the core refuses actions it does not know, so
this module is what allows the club actions below. It also answers ``room.view`` and
``room.join`` for a club's members-only rooms.

=========================  ==========================  ====================================
action                     resource                    rule
=========================  ==========================  ====================================
``club.create``            the plugin's settings       signed in (``create_clubs = "admins"``:
                                                       instance admins only)
``club.view``              ClubScope                   anyone
``club.view_members``      ClubScope                   the club's ``member_list`` policy:
                                                       ``public`` anyone, ``members`` its
                                                       members, ``admins`` its admins
``club.update``            ClubScope                   the club's admins
``club.join``              ClubScope                   signed in; an ``invite`` club only
                                                       with an invitation
``club.invite``            ClubScope (target, role)    the club's admins
``club.review_request``    ClubScope (target)          the club's admins
``club.remove_member``     ClubScope (target)          the club's admins, not on themselves
``club.set_role``          ClubScope (target, role)    the club's admins
``club.hand_over``         ClubScope (target)          the club's admins, to an active member
``club.host_room``         ClubScope                   the club's admins and leaders
``club.follow``            ClubScope                   signed in
``room.view``/``room.join``  a members-only club room  its club's active members; others
                                                       are refused with the club's name
                                                       (its creator, guests and people
                                                       already inside are left to the core)
=========================  ==========================  ====================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from salon.core.models import User
from salon.core.rooms import Room, Visibility

from .index import ClubIndex
from .models import Club, ClubMember, JoinPolicy, MemberList, Role, Status

CREATE = "club.create"
VIEW = "club.view"
VIEW_MEMBERS = "club.view_members"
UPDATE = "club.update"
JOIN = "club.join"
INVITE = "club.invite"
REVIEW_REQUEST = "club.review_request"
REMOVE_MEMBER = "club.remove_member"
SET_ROLE = "club.set_role"
HAND_OVER = "club.hand_over"
HOST_ROOM = "club.host_room"
FOLLOW = "club.follow"

ACTIONS = frozenset(
    {
        CREATE,
        VIEW,
        VIEW_MEMBERS,
        UPDATE,
        JOIN,
        INVITE,
        REVIEW_REQUEST,
        REMOVE_MEMBER,
        SET_ROLE,
        HAND_OVER,
        HOST_ROOM,
        FOLLOW,
    }
)
ADMIN_ONLY = {
    UPDATE: "only the club's admins can change the club",
    INVITE: "only the club's admins can invite people",
    REVIEW_REQUEST: "only the club's admins can answer requests to join",
    REMOVE_MEMBER: "only the club's admins can remove members",
    SET_ROLE: "only the club's admins can change roles",
    HAND_OVER: "only the club's admins can hand the club over",
}


@dataclass(frozen=True)
class ClubScope:
    """What a club question is about: the club, the asker's row in it (any status),
    and for actions on someone, that person's row and the role asked for."""

    club: Club
    mine: ClubMember | None = None
    target: ClubMember | None = None
    role: Role | None = None

    def my_role(self) -> Role | None:
        """The asker's role if they are an active member."""
        if self.mine is None or self.mine.status != Status.ACTIVE:
            return None
        return Role(self.mine.role)


def refusal(actor: User | None, action: str, resource: Any) -> str | None:
    """Why ACTOR may not do the club ACTION on RESOURCE, or None if they may."""
    if action == VIEW:
        return None
    # A membership row that is not the asker's grants nothing.
    mine = getattr(resource, "mine", None)
    if mine is not None and (actor is None or mine.user_id != actor.id):
        resource = replace(resource, mine=None)
    if action == VIEW_MEMBERS:
        return _member_list_refusal(resource)
    if actor is None:
        return "sign in first"
    if action == CREATE:
        admins_only = getattr(resource, "create_clubs", "anyone") == "admins"
        if admins_only and not actor.is_admin:
            return "only instance admins can create clubs"
        return None
    scope: ClubScope = resource
    role = scope.my_role()
    club = scope.club
    if action == FOLLOW:
        return None
    if action == JOIN:
        invited = scope.mine is not None and scope.mine.status == Status.INVITED
        if JoinPolicy(club.join_policy) is JoinPolicy.INVITE and not invited:
            return "this club is invite-only: ask an admin for an invitation"
        return None
    if action == HOST_ROOM:
        if role in (Role.ADMIN, Role.LEADER):
            return None
        return "only the club's admins and leaders can host its rooms"
    if action in ADMIN_ONLY:
        if role is not Role.ADMIN:
            return ADMIN_ONLY[action]
        target = scope.target
        if action == REMOVE_MEMBER and target is not None and target.user_id == actor.id:
            return "to leave the club yourself, use leave"
        if action == HAND_OVER and (target is None or target.status != Status.ACTIVE):
            return "the club can only be handed to one of its members"
        return None
    return None


def _member_list_refusal(scope: ClubScope) -> str | None:
    policy = MemberList(scope.club.member_list)
    role = scope.my_role()
    if policy is MemberList.PUBLIC or role is Role.ADMIN:
        return None
    if policy is MemberList.MEMBERS and role is not None:
        return None
    return f"only the club's {policy.value} can see its members"


def decide(actor: User | None, action: str, resource: Any) -> bool | str | None:
    """``salon_permission`` for the club actions: True, or the reason to refuse."""
    if action not in ACTIONS:
        return None
    return refusal(actor, action, resource) or True


async def room_access(index: ClubIndex, actor: User | None, room: Room) -> bool | str | None:
    """``room.view``/``room.join`` on a members-only club room: True for the club's
    active members, a refusal naming the club for others; no opinion otherwise."""
    if room.visibility is not Visibility.MEMBERS or actor is None:
        return None
    link = await index.link(room)
    if link is None or not link.members_only:
        return None  # not a club's members-only room: the core's rule
    if link.club_id in (await index.viewer(actor.id)).member_of:  # type: ignore[arg-type]
        return True
    if actor.id == room.creator_id or actor.id in room.invited or actor.id in room.members:
        return None  # the host, the room's guests and who is inside: the core decides
    return f"this room is for members of {link.name}"
