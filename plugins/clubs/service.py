"""Clubs as domain code: create and edit clubs, membership, followers (club rooms:
:mod:`.club_rooms`).

Every action asks ``app.state.permissions`` (whose answers for club actions come from
:mod:`.policy`); the rules here are the ones no permission can waive: a club keeps at
least one admin, a declined request leaves nothing behind, names are unique.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from salon.core.auth import USERNAME_RE
from salon.core.errors import Conflict, NotFound, ValidationFailed
from salon.core.models import User
from salon.core.room_service import user_summary

from . import policy
from .models import (
    Club,
    ClubFollow,
    ClubMember,
    JoinPolicy,
    MemberList,
    Role,
    Status,
)
from .policy import ClubScope
from .schemas import HANDLE_RE, RESERVED_HANDLES, ClubBody, ClubUpdateBody

logger = logging.getLogger(__name__)

TEXT_FIELDS = ("name", "description", "rules")


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def handle_from(name: str) -> str:
    handle = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:30].strip("_")
    if not HANDLE_RE.match(handle) or handle in RESERVED_HANDLES:
        raise ValidationFailed(
            "handle: the name gives no usable handle; choose one (a-z, 0-9, _)", field="handle"
        )
    return handle


class ClubService:
    """The clubs of one instance; built per request from ``app.state``."""

    def __init__(self, app: Any):
        self.app = app
        self.db = app.state.db
        self.permissions = app.state.permissions
        self.rooms = app.state.rooms
        self.settings = app.state.plugin_settings.get("clubs")

    def _changed(self) -> None:
        """Membership, follows, names or room links changed: the hooks' index is stale."""
        index = getattr(self.app.state, "clubs_index", None)
        if index is not None:
            index.invalidate()

    # -- reading --------------------------------------------------------------

    async def club(self, handle: str) -> Club:
        handle = handle.lower()
        if not HANDLE_RE.match(handle):
            raise NotFound(f"no club with handle {handle!r}", field="handle")
        async with self.db.session() as session:
            club = (await session.exec(select(Club).where(Club.handle == handle))).first()
        if club is None:
            raise NotFound(f"no club with handle {handle!r}", field="handle")
        return club

    async def row(self, session: AsyncSession, club: Club, user_id: int) -> ClubMember | None:
        return (
            await session.exec(
                select(ClubMember).where(
                    ClubMember.club_id == club.id, ClubMember.user_id == user_id
                )
            )
        ).first()

    async def scope(
        self, club: Club, actor: User | None, target: User | None = None, role: Role | None = None
    ) -> ClubScope:
        async with self.db.session() as session:
            mine = await self.row(session, club, actor.id) if actor else None
            theirs = await self.row(session, club, target.id) if target else None
        return ClubScope(club=club, mine=mine, target=theirs, role=role)

    async def check(
        self,
        actor: User | None,
        action: str,
        club: Club,
        target: User | None = None,
        role: Role | None = None,
    ) -> ClubScope:
        scope = await self.scope(club, actor, target, role)
        await self.permissions.check(actor, action, scope)
        return scope

    async def user(self, username: str, field: str = "username", *, in_path: bool = False) -> User:
        """The user named USERNAME: unknown, a body's FIELD is wrong (422), a path's
        names nothing (404)."""
        username = username.lower()
        user = None
        if USERNAME_RE.match(username):
            async with self.db.session() as session:
                user = (await session.exec(select(User).where(User.username == username))).first()
        if user is None or user.deleted_at is not None:  # a deleted account is no one
            error = NotFound if in_path else ValidationFailed
            raise error(f"{field}: no user named {username!r}", field=field)
        return user

    async def club_json(self, club: Club, viewer: User | None) -> dict[str, Any]:
        async with self.db.session() as session:
            members = (
                await session.exec(
                    select(func.count()).where(
                        ClubMember.club_id == club.id, ClubMember.status == Status.ACTIVE.value
                    )
                )
            ).one()
            followers = (
                await session.exec(select(func.count()).where(ClubFollow.club_id == club.id))
            ).one()
            mine = await self.row(session, club, viewer.id) if viewer else None
            following = (
                viewer is not None
                and (
                    await session.exec(
                        select(ClubFollow.id).where(
                            ClubFollow.club_id == club.id, ClubFollow.user_id == viewer.id
                        )
                    )
                ).first()
                is not None
            )
        scope = ClubScope(club=club, mine=mine)
        await self.permissions.check(viewer, policy.VIEW, scope)
        allowed = self.permissions.allowed
        return {
            "id": club.id,
            "handle": club.handle,
            "name": club.name,
            "description": club.description,
            "rules": club.rules,
            "topics": club.topic_list,
            "avatar": club.avatar,
            "join_policy": club.join_policy,
            "member_list": club.member_list,
            "url": f"/clubs/{club.handle}",
            "calendar_url": f"/api/clubs/{club.handle}/calendar.ics",
            "members_count": members,
            "followers_count": followers,
            "created_at": club.created_at,
            "viewer": {
                "role": mine.role if mine else None,
                "status": mine.status if mine else None,
                "following": following,
                "can_edit": await allowed(viewer, policy.UPDATE, scope),
                "can_host": await allowed(viewer, policy.HOST_ROOM, scope),
                "can_see_members": await allowed(viewer, policy.VIEW_MEMBERS, scope),
            },
        }

    async def list_clubs(self, viewer: User | None, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            clubs = (await session.exec(select(Club).order_by(Club.name_key).limit(limit))).all()
        listed = []
        for club in clubs:
            if await self.permissions.allowed(viewer, policy.VIEW, ClubScope(club=club)):
                listed.append(await self.club_json(club, viewer))
        return listed

    async def members(self, viewer: User | None, club: Club) -> list[dict[str, Any]]:
        """Active members; admins also see invitations and requests."""
        scope = await self.check(viewer, policy.VIEW_MEMBERS, club)
        statuses = [Status.ACTIVE.value]
        if scope.my_role() is Role.ADMIN:
            statuses += [Status.INVITED.value, Status.REQUESTED.value]
        order = {Role.ADMIN.value: 0, Role.LEADER.value: 1, Role.MEMBER.value: 2}
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(ClubMember, User)
                    .join(User, User.id == ClubMember.user_id)
                    .where(ClubMember.club_id == club.id, ClubMember.status.in_(statuses))
                )
            ).all()
        rows = sorted(
            rows, key=lambda r: (r[0].status != Status.ACTIVE, order[r[0].role], r[1].username)
        )
        return [
            {"user": user_summary(u), "role": m.role, "status": m.status, "since": m.created_at}
            for m, u in rows
        ]

    def membership_json(self, club: Club, user: User, row: ClubMember | None) -> dict[str, Any]:
        return {
            "club": club.handle,
            "user": user_summary(user),
            "role": row.role if row else None,
            "status": row.status if row else None,
        }

    # -- creating and editing -----------------------------------------------------

    async def _check_texts(self, actor: User, body: ClubUpdateBody) -> None:
        for name in TEXT_FIELDS:
            value = getattr(body, name)
            if value:
                await self.rooms.check_content(actor, f"club.{name}", value, name)
        if body.topics:
            await self.rooms.check_content(actor, "club.topics", ", ".join(body.topics), "topics")

    async def _name_free(self, session: AsyncSession, name: str, club_id: int | None) -> None:
        other = (await session.exec(select(Club).where(Club.name_key == name_key(name)))).first()
        if other is not None and other.id != club_id:
            raise Conflict(f"name: a club named {other.name!r} exists", field="name")

    async def create(self, actor: User, body: ClubBody) -> Club:
        await self.permissions.check(actor, policy.CREATE, self.settings)
        await self._check_texts(actor, body)
        name = " ".join(body.name.split())
        handle = body.handle or handle_from(name)
        club = Club(
            handle=handle,
            name=name,
            name_key=name_key(name),
            description=body.description or "",
            rules=body.rules or "",
            topics=",".join(body.topics or []),
            avatar=body.avatar or "",
            join_policy=(body.join_policy or JoinPolicy.OPEN).value,
            member_list=(body.member_list or MemberList.PUBLIC).value,
            created_by=actor.id,  # type: ignore[arg-type]
        )
        async with self.db.session() as session:
            await self._name_free(session, name, None)
            if (await session.exec(select(Club.id).where(Club.handle == handle))).first():
                raise Conflict(f"handle: the handle {handle!r} is taken", field="handle")
            session.add(club)
            try:
                await session.flush()
                session.add(
                    ClubMember(club_id=club.id, user_id=actor.id, role=Role.ADMIN.value)  # type: ignore[arg-type]
                )
                await session.commit()
            except IntegrityError:
                raise Conflict("name: that name or handle was just taken", field="name") from None
            await session.refresh(club)
        self._changed()
        index = getattr(self.app.state, "clubs_index", None)
        if index is not None:
            index.handles.add(handle)
        logger.info("%s created club %s", actor.username, handle)
        return club

    async def update(self, actor: User, club: Club, body: ClubUpdateBody) -> Club:
        await self.check(actor, policy.UPDATE, club)
        await self._check_texts(actor, body)
        async with self.db.session() as session:
            club = await session.get(Club, club.id)  # type: ignore[assignment]
            if body.name is not None:
                name = " ".join(body.name.split())
                await self._name_free(session, name, club.id)
                club.name, club.name_key = name, name_key(name)
            for field in ("description", "rules", "avatar"):
                value = getattr(body, field)
                if value is not None:
                    setattr(club, field, value)
            if body.topics is not None:
                club.topics = ",".join(body.topics)
            if body.join_policy is not None:
                club.join_policy = body.join_policy.value
            if body.member_list is not None:
                club.member_list = body.member_list.value
            session.add(club)
            try:
                await session.commit()
            except IntegrityError:
                raise Conflict("name: that name was just taken", field="name") from None
            await session.refresh(club)
        self._changed()
        logger.info("%s edited club %s", actor.username, club.handle)
        return club

    # -- membership -------------------------------------------------------------

    async def join(self, actor: User, club: Club) -> dict[str, Any]:
        """Join an open club, ask to join an approval club, or take an invitation."""
        await self.check(actor, policy.JOIN, club)
        async with self.db.session() as session:
            row = await self.row(session, club, actor.id)
            if row is not None and row.status == Status.ACTIVE:
                raise Conflict("you are already a member of this club")
            if row is not None and row.status == Status.REQUESTED:
                raise Conflict("you have already asked to join; an admin will answer")
            if row is None:
                row = ClubMember(club_id=club.id, user_id=actor.id, role=Role.MEMBER.value)  # type: ignore[arg-type]
                open_ = JoinPolicy(club.join_policy) is JoinPolicy.OPEN
                row.status = (Status.ACTIVE if open_ else Status.REQUESTED).value
            else:  # an invitation: taking it makes a member, in the role offered
                row.status = Status.ACTIVE.value
            session.add(row)
            await session.commit()
            await session.refresh(row)
        self._changed()
        logger.info("%s joined club %s: %s", actor.username, club.handle, row.status)
        return self.membership_json(club, actor, row)

    async def decline_invitation(self, actor: User, club: Club) -> dict[str, Any]:
        async with self.db.session() as session:
            row = await self.row(session, club, actor.id)
            if row is None or row.status != Status.INVITED:
                raise Conflict("you have no invitation to this club")
            await session.delete(row)
            await session.commit()
        return self.membership_json(club, actor, None)

    async def invite(self, actor: User, club: Club, username: str, role: Role) -> dict[str, Any]:
        target = await self.user(username)
        await self.check(actor, policy.INVITE, club, target, role)
        async with self.db.session() as session:
            row = await self.row(session, club, target.id)  # type: ignore[arg-type]
            if row is not None and row.status == Status.ACTIVE:
                raise Conflict(f"username: {target.username} is already a member", field="username")
            # Inviting someone who asked to join admits them: both sides said yes.
            asked = row is not None and row.status == Status.REQUESTED
            if row is None:
                row = ClubMember(club_id=club.id, user_id=target.id)  # type: ignore[arg-type]
            row.status = (Status.ACTIVE if asked else Status.INVITED).value
            row.role = role.value
            session.add(row)
            await session.commit()
            await session.refresh(row)
        self._changed()
        logger.info(
            "%s invited %s to club %s as %s", actor.username, target.username, club.handle, role
        )
        return self.membership_json(club, target, row)

    async def review(self, actor: User, club: Club, username: str, approve: bool) -> dict[str, Any]:
        target = await self.user(username, in_path=True)
        await self.check(actor, policy.REVIEW_REQUEST, club, target)
        async with self.db.session() as session:
            row = await self.row(session, club, target.id)  # type: ignore[arg-type]
            if row is None or row.status != Status.REQUESTED:
                raise Conflict(
                    f"username: {target.username} has not asked to join", field="username"
                )
            if approve:
                row.status = Status.ACTIVE.value
                session.add(row)
            else:
                await session.delete(row)  # a declined request leaves no membership
                row = None
            await session.commit()
            if row is not None:
                await session.refresh(row)
        self._changed()
        logger.info(
            "%s %s %s's request to join %s",
            actor.username,
            "approved" if approve else "declined",
            target.username,
            club.handle,
        )
        return self.membership_json(club, target, row)

    async def _admins(self, session: AsyncSession, club: Club) -> list[int]:
        return list(
            (
                await session.exec(
                    select(ClubMember.user_id).where(
                        ClubMember.club_id == club.id,
                        ClubMember.status == Status.ACTIVE.value,
                        ClubMember.role == Role.ADMIN.value,
                    )
                )
            ).all()
        )

    async def leave(self, actor: User, club: Club, successor: str | None) -> dict[str, Any]:
        """Leave (or withdraw a request). The last admin names a successor, who must
        be an active member and becomes an admin."""
        heir = await self.user(successor, "successor") if successor else None
        async with self.db.session() as session:
            row = await self.row(session, club, actor.id)
            if row is None:
                raise Conflict("you are not a member of this club")
            last_admin = (
                row.role == Role.ADMIN
                and row.status == Status.ACTIVE
                and (await self._admins(session, club)) == [actor.id]
            )
            if last_admin:
                if heir is None:
                    raise ValidationFailed(
                        "successor: you are the club's last admin; name a member to take over",
                        field="successor",
                    )
                heir_row = await self.row(session, club, heir.id)  # type: ignore[arg-type]
                if heir_row is None or heir_row.status != Status.ACTIVE or heir.id == actor.id:
                    raise ValidationFailed(
                        f"successor: {heir.username} is not a member of this club",
                        field="successor",
                    )
                heir_row.role = Role.ADMIN.value
                session.add(heir_row)
            await session.delete(row)
            await session.commit()
        self._changed()
        logger.info("%s left club %s", actor.username, club.handle)
        return self.membership_json(club, actor, None)

    async def remove(self, actor: User, club: Club, username: str) -> dict[str, Any]:
        target = await self.user(username, in_path=True)
        await self.check(actor, policy.REMOVE_MEMBER, club, target)
        async with self.db.session() as session:
            row = await self.row(session, club, target.id)  # type: ignore[arg-type]
            if row is None:
                raise NotFound(f"username: {target.username} is not in this club", field="username")
            await session.delete(row)
            await session.commit()
        self._changed()
        logger.info("%s removed %s from club %s", actor.username, target.username, club.handle)
        return self.membership_json(club, target, None)

    async def set_role(self, actor: User, club: Club, username: str, role: Role) -> dict[str, Any]:
        target = await self.user(username, in_path=True)
        await self.check(actor, policy.SET_ROLE, club, target, role)
        async with self.db.session() as session:
            row = await self.row(session, club, target.id)  # type: ignore[arg-type]
            if row is None or row.status != Status.ACTIVE:
                raise NotFound(f"username: {target.username} is not a member", field="username")
            stepping_down = row.role == Role.ADMIN and role is not Role.ADMIN
            if stepping_down and await self._admins(session, club) == [target.id]:
                raise Conflict(
                    "role: the club's last admin cannot step down; make another admin first",
                    field="role",
                )
            row.role = role.value
            session.add(row)
            await session.commit()
            await session.refresh(row)
        logger.info("%s made %s %s of club %s", actor.username, target.username, role, club.handle)
        return self.membership_json(club, target, row)

    async def hand_over(self, actor: User, club: Club, username: str) -> dict[str, Any]:
        """TARGET becomes an admin; the actor stays on as a plain member."""
        target = await self.user(username)
        await self.check(actor, policy.HAND_OVER, club, target)
        if target.id == actor.id:
            raise ValidationFailed("username: hand the club to someone else", field="username")
        async with self.db.session() as session:
            theirs = await self.row(session, club, target.id)  # type: ignore[arg-type]
            mine = await self.row(session, club, actor.id)  # type: ignore[arg-type]
            theirs.role = Role.ADMIN.value  # type: ignore[union-attr]
            mine.role = Role.MEMBER.value  # type: ignore[union-attr]
            session.add_all([theirs, mine])
            await session.commit()
            await session.refresh(theirs)
        logger.info("%s handed club %s to %s", actor.username, club.handle, target.username)
        return self.membership_json(club, target, theirs)

    # -- account deletion --------------------------------------------------------

    async def forget_user(self, user: User) -> list[str]:
        """USER deleted their account: their memberships, invitations, requests and
        club follows go. A club whose last admin they were passes to its
        longest-standing leader, else its longest-standing member; a club left with
        no members at all stays, without an admin. Returns the handles of the clubs
        that got a new admin."""
        handed: list[str] = []
        async with self.db.session() as session:
            rows = (
                await session.exec(select(ClubMember).where(ClubMember.user_id == user.id))
            ).all()
            for row in rows:
                club = await session.get(Club, row.club_id)
                was_admin = row.role == Role.ADMIN and row.status == Status.ACTIVE
                await session.delete(row)
                await session.flush()
                if not was_admin or club is None or await self._admins(session, club):
                    continue
                heir = await self._successor(session, club)
                if heir is None:
                    logger.info("club %s has no members left, and no admin", club.handle)
                    continue
                heir.role = Role.ADMIN.value
                session.add(heir)
                handed.append(club.handle)
                logger.info(
                    "club %s passed to user %s: its last admin left", club.handle, heir.user_id
                )
            follows = (
                await session.exec(select(ClubFollow).where(ClubFollow.user_id == user.id))
            ).all()
            for follow in follows:
                await session.delete(follow)
            await session.commit()
        self._changed()
        return handed

    async def _successor(self, session: AsyncSession, club: Club) -> ClubMember | None:
        """The club's longest-standing active leader, else its longest-standing member."""
        for role in (Role.LEADER, Role.MEMBER):
            row = (
                await session.exec(
                    select(ClubMember)
                    .where(
                        ClubMember.club_id == club.id,
                        ClubMember.status == Status.ACTIVE.value,
                        ClubMember.role == role.value,
                    )
                    .order_by(ClubMember.created_at, ClubMember.id)
                )
            ).first()
            if row is not None:
                return row
        return None

    # -- followers ------------------------------------------------------------

    async def follow(self, actor: User, club: Club, on: bool) -> None:
        if on:
            await self.check(actor, policy.FOLLOW, club)
        async with self.db.session() as session:
            row = (
                await session.exec(
                    select(ClubFollow).where(
                        ClubFollow.club_id == club.id, ClubFollow.user_id == actor.id
                    )
                )
            ).first()
            if on and row is None:
                session.add(ClubFollow(club_id=club.id, user_id=actor.id))  # type: ignore[arg-type]
            elif not on and row is not None:
                await session.delete(row)
            with contextlib.suppress(IntegrityError):  # followed twice at once: once is enough
                await session.commit()
        self._changed()
