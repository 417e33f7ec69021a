"""Moderation: reports, blocks, bans, content rules and an admin console.

The module-level hooks declare the plugin's parts (settings, routes, migrations,
commands, web files); at start-up a :class:`~.service.Moderation` is made for the
instance and registered with its plugin manager, and it answers the hooks that need
the instance's state (``salon_permission``, ``salon_check_content``,
``salon_room_event``, ``salon_page_assets``, ``salon_activity_received``,
``salon_account_deleted``). See
README.md beside this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from salon.core.hookspecs import hookimpl

from . import api, console
from .cli import moderation as moderation_command
from .service import NAME, Moderation
from .settings import ModerationSettings

HERE = Path(__file__).resolve().parent


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return ModerationSettings if name == NAME else None


@hookimpl
def salon_routes() -> list[BaseRoute]:
    return [*api.routes, *console.routes]


@hookimpl
def salon_migrations() -> Path:
    return HERE / "migrations"


@hookimpl
def salon_cli_commands() -> list[click.Command]:
    return [moderation_command]


@hookimpl
def salon_web_dirs() -> dict[str, Path]:
    return {"templates": HERE / "templates", "static": HERE / "static"}


@hookimpl
async def salon_startup(app: Starlette) -> None:
    service = Moderation(app)
    app.state.moderation = service
    app.state.plugins.pm.register(service, name=f"{NAME}.instance")
    await service.start()


@hookimpl
async def salon_shutdown(app: Starlette) -> Any:
    service: Moderation | None = getattr(app.state, "moderation", None)
    if service is None:
        return
    await service.stop()
    plugins = app.state.plugins.pm
    if plugins.is_registered(service):
        plugins.unregister(service)
