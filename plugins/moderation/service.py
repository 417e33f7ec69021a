"""The moderation plugin at work in one instance: its hook implementations and the
moderation actions (each stored with its audit entry in one transaction, then carried
into live rooms and to other plugins).

One :class:`Moderation` is made per application at start-up and registered with that
application's plugin manager, so two instances in one process never share state.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, select
from starlette.applications import Starlette

from salon.core.errors import ConfigError, Conflict, Forbidden, NotFound, ValidationFailed
from salon.core.hookspecs import hookimpl
from salon.core.models import User
from salon.core.rooms import Room, RoomEvent

from . import (
    audit,
    blocks,
    enforcement,
    instance_blocks,
    moderators,
    suspensions,
)
from .content import RulesSource
from .models import InstanceBlock, ModeratorGrant, Suspension, iso, user_json
from .report_desk import ReportDesk
from .room_context import RoomContext
from .rules import Rules
from .settings import ModerationSettings

logger = logging.getLogger(__name__)

NAME = "moderation"
STATIC = f"/static/plugins/{NAME}"


class Moderation:
    """Per-instance state: settings, content rules, room context, permission rules."""

    def __init__(self, app: Starlette):
        self.app = app
        self.db = app.state.db
        self.rooms = app.state.rooms
        self.plugins = app.state.plugins
        self.permissions = app.state.permissions
        settings: ModerationSettings = app.state.plugin_settings.get(NAME) or ModerationSettings()
        source = app.state.settings.source
        config_file = None if source == "embedded defaults" else source
        self.content = RulesSource(settings, config_file, self._settings_changed)
        self.context = RoomContext()
        self.rules = Rules(self.db, self._config_domains, self._announce_later)
        self.report_desk = ReportDesk(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    @property
    def settings(self) -> ModerationSettings:
        return self.content.settings

    def _config_domains(self) -> list[str]:
        self.content.refresh()
        return self.content.settings.blocked_instances

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        # Config-listed domains and blocks made offline (command line) are announced
        # once, so federation cuts ties with them.
        for domain in self.settings.blocked_instances:
            await self.plugins.call("salon_instance_blocked", domain=domain, actor=None)
        async with self.db.session() as session:
            pending = (
                await session.exec(
                    select(InstanceBlock).where(col(InstanceBlock.announced_at).is_(None))
                )
            ).all()
        for row in pending:
            await self._announce(row.domain, None)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- hooks ----------------------------------------------------------------------

    @hookimpl
    def salon_permission(self, actor: User | None, action: str, resource: Any) -> Any:
        return self.rules.decide(actor, action, resource)

    @hookimpl
    def salon_check_content(self, actor: User | None, kind: str, text: str) -> str | None:
        return self.content.current().refusal(text)

    @hookimpl
    def salon_room_event(self, room: Room, event: RoomEvent) -> None:
        self.context.record(room, event)

    @hookimpl
    async def salon_activity_received(self, activity: dict[str, Any], sender: str) -> None:
        if activity.get("type") == "Flag":
            await self.report_desk.receive_flag(activity, sender)

    @hookimpl
    async def salon_account_deleted(self, user: User) -> None:
        try:
            await self.forget_user(user)
        except Exception:  # the deletion is stored; the core must not fail it afterwards
            logger.exception("could not remove the blocks of %s", user.username)

    @hookimpl
    async def salon_page_assets(self, page: str, viewer: User | None) -> dict[str, Any] | None:
        found: dict[str, Any] = {"styles": [f"{STATIC}/moderation.css"]}
        if viewer is not None and await self.rules.is_moderator(viewer):
            found["nav"] = [{"href": "/moderation", "label": "Moderation"}]
        if page == "room" and viewer is not None:
            found["scripts"] = [f"{STATIC}/room.js"]
        elif page == "profile" and viewer is not None:
            found["scripts"] = [f"{STATIC}/profile.js"]
        return found

    # -- access -----------------------------------------------------------------------

    async def user_named(self, username: str, field: str = "username") -> User:
        if "\x00" in username:  # no name holds one, and PostgreSQL refuses it in a query
            raise NotFound(f"no user named {username!r}", field=field)
        async with self.db.session() as session:
            user = (
                await session.exec(select(User).where(User.username == username.lower()))
            ).first()
        if user is None:
            raise NotFound(f"no user named {username!r}", field=field)
        return user

    # -- blocks -----------------------------------------------------------------------

    async def block(self, actor: User, target: User) -> dict[str, Any]:
        if actor.id == target.id:
            raise ValidationFailed("you cannot block yourself", field="username")
        if target.deleted_at is not None:  # nobody to block: the account is gone
            raise NotFound(f"no user named {target.username!r}", field="username")
        async with self.db.session() as session:
            _, follows_ended = await blocks.add(session, actor.id, target.id)  # type: ignore[arg-type]
            audit.record(session, actor.id, audit.BLOCK, f"user:{target.username}")
            await session.commit()
        self.rules.blocks.forget(actor.id, target.id)  # type: ignore[arg-type]
        left = await enforcement.remove_from_rooms_of(self.rooms, target.id, actor)  # type: ignore[arg-type]
        logger.info("%s blocked %s", actor.username, target.username)
        return {"blocked": user_json(target), "follows_ended": follows_ended, "rooms_left": left}

    async def unblock(self, actor: User, target: User) -> None:
        async with self.db.session() as session:
            row = await blocks.find(session, actor.id, target.id)  # type: ignore[arg-type]
            if row is None:
                raise NotFound(f"you have not blocked {target.username}", field="username")
            await session.delete(row)
            audit.record(session, actor.id, audit.UNBLOCK, f"user:{target.username}")
            await session.commit()
        self.rules.blocks.forget(actor.id, target.id)  # type: ignore[arg-type]

    async def forget_user(self, user: User) -> dict[str, Any]:
        """USER deleted their account: the blocks they made or were the target of go,
        and so does a moderator grant; one audit entry says so. Reports (by them or
        about them), suspensions and the audit log stay: moderation records are kept."""
        async with self.db.session() as session:
            others = await blocks.remove_all_of(session, user.id)  # type: ignore[arg-type]
            grant = await moderators.find(session, user.id)  # type: ignore[arg-type]
            if grant is not None:
                await session.delete(grant)
            details = {"blocks_removed": len(others), "moderator_grant_removed": grant is not None}
            audit.record(
                session, user.id, audit.ACCOUNT_DELETED, f"user:{user.username}", **details
            )
            await session.commit()
        self.rules.blocks.forget(user.id, *others)  # type: ignore[arg-type]
        logger.info(
            "removed what moderation kept for deleted account %s: %s", user.username, details
        )
        return details

    async def blocks_of(self, actor: User) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await blocks.of(session, actor.id)  # type: ignore[arg-type]
        users = await self.rooms.user_rows(r.blocked_id for r in rows)
        return [
            {"user": user_json(users.get(r.blocked_id)), "created_at": iso(r.created_at)}
            for r in rows
        ]

    # -- suspensions --------------------------------------------------------------------

    async def suspend(
        self, moderator: User, user: User, reason: str, expires_at: datetime | None
    ) -> dict[str, Any]:
        if user.id == moderator.id:
            raise ValidationFailed("you cannot suspend yourself", field="username")
        if await self.rules.is_moderator(user) and not moderator.is_admin:
            raise Forbidden("only an admin can suspend a moderator or an admin")
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise ValidationFailed("expires_at must be in the future", field="expires_at")
        async with self.db.session() as session:
            previous = await suspensions.active(session, user.id)  # type: ignore[arg-type]
            if previous is not None:  # a new term replaces the old one
                previous.lifted_at = datetime.now(UTC)
                previous.lifted_by = moderator.id
                session.add(previous)
            row = Suspension(
                user_id=user.id,  # type: ignore[arg-type]
                created_by=moderator.id,
                reason=reason,
                expires_at=expires_at,
            )
            session.add(row)
            audit.record(
                session,
                moderator.id,
                audit.SUSPEND,
                f"user:{user.username}",
                reason,
                expires_at=iso(expires_at) or "never",
            )
            await session.commit()
            await session.refresh(row)
        outcome = await enforcement.remove_everywhere(self.rooms, user, moderator)
        if outcome.removed_from or outcome.ended:
            async with self.db.session() as session:
                audit.record(
                    session,
                    moderator.id,
                    audit.ROOM_REMOVED,
                    f"user:{user.username}",
                    "suspended",
                    removed_from=outcome.removed_from,
                    ended=outcome.ended,
                )
                await session.commit()
        logger.info("%s suspended %s until %s", moderator.username, user.username, expires_at)
        return {
            **self.suspension_json(row, {user.id: user, moderator.id: moderator}),  # type: ignore[dict-item]
            "removed_from_rooms": outcome.removed_from,
            "rooms_ended": outcome.ended,
        }

    async def unsuspend(self, moderator: User, user: User, reason: str) -> None:
        async with self.db.session() as session:
            row = await suspensions.active(session, user.id)  # type: ignore[arg-type]
            if row is None:
                raise NotFound(f"{user.username} is not suspended", field="username")
            row.lifted_at = datetime.now(UTC)
            row.lifted_by = moderator.id
            session.add(row)
            audit.record(session, moderator.id, audit.UNSUSPEND, f"user:{user.username}", reason)
            await session.commit()
        logger.info("%s lifted the suspension of %s", moderator.username, user.username)

    async def active_suspensions(self) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await suspensions.all_active(session)
        users = await self.rooms.user_rows(
            [r.user_id for r in rows] + [r.created_by for r in rows if r.created_by]
        )
        return [self.suspension_json(r, users) for r in rows]

    def suspension_json(self, row: Suspension, users: dict[int, User]) -> dict[str, Any]:
        return {
            "id": row.id,
            "user": user_json(users.get(row.user_id)),
            "by": user_json(users.get(row.created_by)) if row.created_by else None,
            "reason": row.reason,
            "created_at": iso(row.created_at),
            "expires_at": iso(row.expires_at),
        }

    # -- moderators -------------------------------------------------------------------

    async def grant(self, admin: User, user: User) -> None:
        async with self.db.session() as session:
            if await moderators.find(session, user.id) is not None:  # type: ignore[arg-type]
                raise Conflict(f"{user.username} is already a moderator", field="username")
            session.add(ModeratorGrant(user_id=user.id, granted_by=admin.id))  # type: ignore[arg-type]
            audit.record(session, admin.id, audit.MODERATOR_GRANTED, f"user:{user.username}")
            await session.commit()

    async def revoke(self, admin: User, user: User) -> None:
        async with self.db.session() as session:
            row = await moderators.find(session, user.id)  # type: ignore[arg-type]
            if row is None:
                raise NotFound(f"{user.username} holds no moderator grant", field="username")
            await session.delete(row)
            audit.record(session, admin.id, audit.MODERATOR_REVOKED, f"user:{user.username}")
            await session.commit()

    async def moderator_list(self) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await moderators.listing(session)
        return [{"user": user_json(u), "how": how} for u, how in rows]

    # -- instance blocks --------------------------------------------------------------

    async def block_instance(self, actor: User | None, domain: str, reason: str) -> dict[str, Any]:
        domain = _domain(domain)
        async with self.db.session() as session:
            existing = (
                await session.exec(select(InstanceBlock).where(InstanceBlock.domain == domain))
            ).first()
            if existing is not None or domain in self.settings.blocked_instances:
                raise Conflict(f"{domain} is already blocked", field="domain")
            row = InstanceBlock(
                domain=domain, reason=reason, created_by=actor.id if actor else None
            )
            session.add(row)
            audit.record(
                session, actor.id if actor else None, audit.INSTANCE_BLOCKED, domain, reason
            )
            await session.commit()
        await self._announce(domain, actor)
        return await self.instance_json(domain)

    async def unblock_instance(self, actor: User | None, domain: str, reason: str) -> None:
        domain = _domain(domain)
        if domain in self.settings.blocked_instances:
            raise Conflict(
                f"{domain} is blocked in the config file; remove it there",
                field="domain",
            )
        async with self.db.session() as session:
            row = (
                await session.exec(select(InstanceBlock).where(InstanceBlock.domain == domain))
            ).first()
            if row is None:
                raise NotFound(f"{domain} is not blocked", field="domain")
            await session.delete(row)
            audit.record(
                session, actor.id if actor else None, audit.INSTANCE_UNBLOCKED, domain, reason
            )
            await session.commit()

    async def instance_list(self) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await instance_blocks.listing(session)
        listed = [
            {"domain": d, "source": "config", "reason": "", "created_at": None}
            for d in self.settings.blocked_instances
        ]
        return listed + [
            {
                "domain": r.domain,
                "source": "console",
                "reason": r.reason,
                "created_at": iso(r.created_at),
            }
            for r in rows
        ]

    async def instance_json(self, domain: str) -> dict[str, Any]:
        return next(i for i in await self.instance_list() if i["domain"] == domain)

    async def _announce(self, domain: str, actor: User | None) -> None:
        """Tell other plugins (federation) to cut ties with DOMAIN, and note it."""
        await self.plugins.call("salon_instance_blocked", domain=domain, actor=actor)
        async with self.db.session() as session:
            row = (
                await session.exec(select(InstanceBlock).where(InstanceBlock.domain == domain))
            ).first()
            if row is not None and row.announced_at is None:
                row.announced_at = datetime.now(UTC)
                session.add(row)
                await session.commit()

    def _announce_later(self, row: InstanceBlock) -> None:
        self._later(self._announce(row.domain, None))

    def _settings_changed(self, old: ModerationSettings, new: ModerationSettings) -> None:
        """The config file was read again: announce the instances it newly blocks."""
        for domain in set(new.blocked_instances) - set(old.blocked_instances):
            self._later(self.plugins.call("salon_instance_blocked", domain=domain, actor=None))

    def _later(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- content rules and the log ------------------------------------------------------

    async def reload_rules(self, actor: User) -> dict[str, Any]:
        if self.content.config_file is None:
            raise Conflict("this instance runs on embedded defaults: there is no file to read")
        try:
            rules = self.content.reload()
        except ConfigError as exc:
            raise ValidationFailed(exc.message, field=exc.field, code="config_invalid") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = "plugins.moderation." + ".".join(str(p) for p in first["loc"])
            raise ValidationFailed(
                f"{where}: {first['msg']}", field=where, code="config_invalid"
            ) from None
        async with self.db.session() as session:
            audit.record(
                session,
                actor.id,
                audit.RULES_RELOADED,
                self.content.config_file,
                words=len(rules.words),
                patterns=len(rules.patterns),
            )
            await session.commit()
        return self.rules_json()

    def rules_json(self) -> dict[str, Any]:
        rules = self.content.current()
        return {"words": list(rules.words), "patterns": list(rules.patterns)}

    async def audit_log(self, before: int | None = None) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            rows = await audit.entries(session, before=before)
        users = await self.rooms.user_rows(r.actor_id for r in rows if r.actor_id)
        return [
            {
                "id": r.id,
                "actor": user_json(users.get(r.actor_id)) if r.actor_id else None,
                "action": r.action,
                "target": r.target,
                "reason": r.reason,
                "details": json.loads(r.details or "{}"),
                "created_at": iso(r.created_at),
            }
            for r in rows
        ]


def _domain(value: str) -> str:
    try:
        return instance_blocks.normalise_domain(value)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="domain") from None
