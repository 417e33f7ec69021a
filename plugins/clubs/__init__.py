"""Clubs: communities that host rooms, with members, followers and a schedule.

An ordinary Salon plugin (see README.md beside this file): its tables and migrations,
its API under ``/api/clubs``, its pages under ``/clubs``, and these hooks:

- ``salon_permission``: every club decision, and members-only club rooms (:mod:`.policy`);
- ``salon_room_extras``: a club room shows its club on its page and hallway card;
- ``salon_hallway_rank``: the rooms of clubs you follow or belong to rank high;
- ``salon_room_event``: a weekly club room that opens schedules next week's;
- ``salon_account_deleted``: a deleted person's memberships and follows go, and their
  clubs get a successor admin;
- ``salon_federated_actor``: each club federates as a ``Group`` actor;
- ``salon_room_actors``: a club room is published to its club's followers too.

Hooks that are not given the app (permissions, extras, ranking) find the instance they
serve by the event loop they run on: one instance per loop, which is how Salon runs
(and how tests run several instances in one process, each in its own thread).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from salon.core.hookspecs import hookimpl
from salon.core.models import User
from salon.core.rooms import OPENED, Room, RoomEvent, Visibility

from . import api, pages, policy
from .club_rooms import ClubRooms
from .index import ClubIndex
from .service import ClubService

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
NAME = "clubs"

_apps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Starlette] = weakref.WeakKeyDictionary()


class ClubsSettings(BaseModel):
    """The ``[plugins.clubs]`` table."""

    model_config = ConfigDict(extra="forbid")

    create_clubs: Literal["anyone", "admins"] = Field(
        "anyone", description="who may create clubs: any signed-in user, or instance admins"
    )
    hallway_boost: int = Field(
        10, ge=0, le=1000, description="how far a followed club's rooms rise in the hallway"
    )


def _app() -> Starlette | None:
    try:
        return _apps.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


def _index() -> ClubIndex | None:
    app = _app()
    return app.state.clubs_index if app is not None else None


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return ClubsSettings if name == NAME else None


@hookimpl
async def salon_startup(app: Starlette) -> None:
    app.state.clubs_index = ClubIndex(app.state.db)
    await app.state.clubs_index.load_handles()
    _apps[asyncio.get_running_loop()] = app


@hookimpl
def salon_shutdown(app: Starlette) -> None:
    for loop, known in list(_apps.items()):
        if known is app:
            del _apps[loop]


@hookimpl
def salon_routes() -> list[BaseRoute]:
    return [*api.routes, *pages.routes]


@hookimpl
def salon_migrations() -> Path:
    return HERE / "migrations"


@hookimpl
def salon_web_dirs() -> dict[str, Path]:
    return {"templates": HERE / "templates", "static": HERE / "static"}


@hookimpl
def salon_page_assets(page: str, viewer: Any) -> dict[str, Any]:
    assets: dict[str, Any] = {"nav": [{"href": "/clubs", "label": "Clubs"}]}
    if page.startswith("clubs"):
        assets["styles"] = ["/static/plugins/clubs/clubs.css"]
        assets["scripts"] = ["/static/plugins/clubs/clubs.js"]
    return assets


@hookimpl
def salon_permission(actor: User | None, action: str, resource: Any) -> Any:
    if action in policy.ACTIONS:
        return policy.decide(actor, action, resource)
    if action in ("room.view", "room.join") and isinstance(resource, Room):
        index = _index()
        if index is not None and resource.visibility is Visibility.MEMBERS:
            return policy.room_access(index, actor, resource)
    return None


@hookimpl
def salon_room_extras(room: Room, viewer: User | None) -> Any:
    index = _index()
    if index is None:
        return None

    async def extras() -> dict[str, Any] | None:
        link = await index.link(room)
        if link is None:
            return None
        label = f"{link.name} · members only" if link.members_only else link.name
        return {
            "club": {
                "label": label,
                "href": f"/clubs/{link.handle}",
                "handle": link.handle,
                "name": link.name,
                "members_only": link.members_only,
            }
        }

    return extras()


@hookimpl
def salon_hallway_rank(viewer: User | None, room: Room) -> Any:
    app = _app()
    if app is None or viewer is None:
        return None
    index: ClubIndex = app.state.clubs_index

    async def rank() -> int | None:
        link = await index.link(room)
        if link is None:
            return None
        mine = await index.viewer(viewer.id)  # type: ignore[arg-type]
        if link.club_id not in mine.member_of | mine.following:
            return None
        settings = app.state.plugin_settings.get(NAME)
        return settings.hallway_boost if settings else ClubsSettings().hallway_boost

    return rank()


@hookimpl
def salon_federated_actor(name: str) -> Any:
    """Each club federates as a ``Group`` actor named after its handle."""
    index = _index()
    if index is None or name not in index.handles:
        return None  # decided without awaiting: firstresult would take an awaitable as a yes
    app = _app()

    async def describe() -> dict[str, Any] | None:
        club = await ClubService(app).club(name)
        base = app.state.settings.instance.base_url.rstrip("/")  # type: ignore[union-attr]
        return {
            "type": "Group",
            "preferredUsername": club.handle,
            "name": club.name,
            "summary": club.description,
            "url": f"{base}/clubs/{club.handle}",
            "manuallyApprovesFollowers": False,
        }

    return describe()


@hookimpl
def salon_room_actors(room: Room) -> Any:
    """A club room is hosted by its club's actor too: its followers hear of the room."""
    index = _index()
    if index is None:
        return None

    async def actors() -> list[str] | None:
        link = await index.link(room)
        return [link.handle] if link is not None else None

    return actors()


@hookimpl
def salon_account_deleted(user: User) -> Any:
    """The person's memberships and club follows go; clubs they were the last admin of
    get a successor (:meth:`ClubService.forget_user`)."""
    app = _app()
    if app is None:
        return None

    async def forget() -> None:
        try:
            handed = await ClubService(app).forget_user(user)
        except Exception:  # the deletion is stored; the core must not fail it afterwards
            logger.exception("could not remove %s from their clubs", user.username)
            return
        if handed:
            logger.info("clubs handed over as %s deleted their account: %s", user.username, handed)

    return forget()


@hookimpl
def salon_room_event(room: Room, event: RoomEvent) -> Any:
    app = _app()
    if app is None or event.kind != OPENED or room.scheduled_for is None:
        return None

    async def repeat() -> None:
        try:
            await ClubRooms(ClubService(app)).schedule_next(room)
        except Exception:
            logger.exception("could not schedule the next weekly room after room %s", room.id)

    return repeat()
