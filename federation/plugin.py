"""Federation joins the app the way plugins do: this module holds its hook
implementations (entry point ``federation = "salon.federation.plugin"``).

Hooks that need the running instance (its database, its queue) are implemented by
an :class:`InstanceHooks` object registered at start-up for that app alone, so
several instances in one process (as in the tests) never mix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from salon.core.hookspecs import hookimpl
from salon.core.models import User

from . import activities, api, discovery, follows, guests, join_api, remote_rooms, room_objects
from .inbox import InboxProcessor
from .outbox import Outbox
from .room_publishing import RoomPublisher
from .service import Federation
from .settings import FederationSettings

logger = logging.getLogger(__name__)

NAME = "federation"
HERE = Path(__file__).resolve().parent


class InstanceHooks:
    """The hooks of one running instance's federation."""

    def __init__(self, fed: Federation):
        self.fed = fed

    @hookimpl
    async def salon_instance_blocked(self, domain: str, actor: Any) -> None:
        """Cut ties with a blocked instance: follows both ways, queued deliveries."""
        severed = await follows.sever_host(self.fed, domain)
        dropped = await self.fed.outbox.drop_host(domain)
        logger.info(
            "instance %s blocked%s: %d follows severed, %d deliveries dropped",
            domain,
            f" by {actor.username}" if actor is not None else "",
            severed,
            dropped,
        )

    @hookimpl
    async def salon_follows(self, follower: User, followee_ids: list[int]) -> bool | None:
        """A guest account follows a local user when its remote actor does (issue 9)."""
        return await guests.follows_any(self.fed, follower, followee_ids)

    @hookimpl
    def salon_room_event(self, room: Any, event: Any) -> None:
        """A room changed: its publisher looks at it soon (issue 9)."""
        publisher = self.fed.rooms
        if publisher is not None:
            publisher.changed(room.id)

    @hookimpl
    async def salon_hallway_rooms(self, viewer: User | None) -> list[dict[str, Any]]:
        """Rooms other servers published here (issue 9)."""
        return await remote_rooms.hallway_rooms(self.fed, viewer)

    @hookimpl
    async def salon_follow_list(self, user: User, relation: str) -> list[dict[str, Any]]:
        return await follows.follow_list(self.fed, self.fed.user_uri(user.username), relation)

    @hookimpl
    async def salon_profile_changed(self, user: User) -> None:
        """Tell remote followers: an ``Update`` of the actor."""
        fed = self.fed
        try:
            local = await fed.local_actor(fed.user_uri(user.username))
            if local is None:
                return
            doc = await activities.actor_document(fed, local)
            await fed.outbox.to_followers(activities.update(fed, local.uri, doc), local.uri)
        except Exception:  # the edit is stored; failing to tell others must not undo it
            logger.exception("could not queue the Update of %s", user.username)

    @hookimpl
    async def salon_account_deleted(self, user: User) -> None:
        """Tell every remote follower and followee: a ``Delete`` of the actor, through
        the queue (its key stays, so the queued ``Delete`` can still be signed); then
        the actor URL answers 410 with a ``Tombstone``."""
        fed = self.fed
        uri = fed.user_uri(user.username)
        try:
            inboxes = await follows.forget_local(fed, user)
            queued = await fed.outbox.enqueue(activities.delete(fed, uri), uri, inboxes)
            logger.info("queued the Delete of %s for %d inboxes", uri, queued)
        except Exception:  # the deletion is stored; failing to tell others must not undo it
            logger.exception("could not queue the Delete of %s", uri)


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return FederationSettings if name == NAME else None


@hookimpl
def salon_routes() -> list[BaseRoute]:
    return [*room_objects.routes, *discovery.routes, *api.routes, *join_api.routes]


@hookimpl
def salon_migrations() -> Path:
    return HERE / "migrations"


@hookimpl
def salon_web_dirs() -> dict[str, Path]:
    return {"templates": HERE / "templates", "static": HERE / "static"}


@hookimpl
def salon_page_assets(page: str, viewer: Any) -> dict[str, Any]:
    return {"nav": [{"href": "/federation/search", "label": "Other instances"}]}


@hookimpl
def salon_cli_commands() -> list[click.Command]:
    from .cli import federation_group, keys_group

    return [keys_group, federation_group]


@hookimpl
async def salon_startup(app: Starlette) -> None:
    settings: FederationSettings = app.state.plugin_settings[NAME]
    fed = Federation(app, settings)
    fed.outbox = Outbox(fed)
    fed.inbox = InboxProcessor(fed)
    app.state.federation = fed
    hooks = InstanceHooks(fed)
    for domain in await fed.blocked_hosts():
        await hooks.salon_instance_blocked(domain=domain, actor=None)
    fed.rooms = RoomPublisher(fed)
    fed.outbox.start()
    fed.inbox.start()
    fed.rooms.start()
    # Registered last, so a start-up that failed above leaves no hooks behind.
    app.state.plugins.pm.register(hooks, name=f"{NAME}-instance-{id(app)}")
    app.state.federation_hooks = hooks
    logger.info("federation on %s: %d delivery workers", fed.base_url, settings.workers)


@hookimpl
async def salon_shutdown(app: Starlette) -> None:
    fed: Federation | None = getattr(app.state, "federation", None)
    if fed is None:
        return
    if fed.rooms is not None:
        await fed.rooms.stop()
    await fed.outbox.stop()
    await fed.inbox.stop()
    hooks = getattr(app.state, "federation_hooks", None)
    if hooks is not None and app.state.plugins.pm.is_registered(hooks):
        app.state.plugins.pm.unregister(hooks)
    await fed.aclose()
