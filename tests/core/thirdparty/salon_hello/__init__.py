"""salon-hello: a third-party Salon plugin, written as an outside author would.

It uses only Salon's public plugin API (``salon.core.hookspecs`` and
``salon.core.api``) and is registered through the ``salon.plugins`` entry point
``hello = salon_hello``:

- ``[plugins.hello]`` settings, validated by :class:`HelloSettings`;
- ``GET /api/hello/ping``, answering with the configured greeting;
- a permission rule: nobody may follow the user named ``celebrity``;
- its own table ``hello_greeting`` (migrations in ``migrations/``), a page at
  ``/hello`` from its own template, a script and a nav link on the hallway, and the
  command ``salon hello NAME``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from salon.core.api import endpoint, ok
from salon.core.cli import config_option, settings_or_exit
from salon.core.hookspecs import hookimpl
from salon.core.routes.pages import render

HERE = Path(__file__).resolve().parent

NAME = "hello"
PROTECTED_USERNAME = "celebrity"


class HelloSettings(BaseModel):
    """The ``[plugins.hello]`` table."""

    model_config = ConfigDict(extra="forbid")

    greeting: str = Field("hello", min_length=1, max_length=40)
    repeat: int = Field(1, ge=1, le=5)


@endpoint("GET", "/api/hello/ping", summary="Say hello", auth=False, tag="hello")
async def ping(request: Request) -> Response:
    settings: HelloSettings = request.app.state.plugin_settings[NAME]
    return ok({"plugin": NAME, "message": " ".join([settings.greeting] * settings.repeat)})


async def hello_page(request: Request) -> Response:
    settings: HelloSettings = request.app.state.plugin_settings[NAME]
    return await render(request, "hello/hello.html", page="hello", greeting=settings.greeting)


@click.command("hello")
@click.argument("name")
@config_option
def hello_command(name: str, config_file: str | None) -> None:
    """Greet NAME with the configured greeting."""
    settings = settings_or_exit(config_file)
    greeting = HelloSettings.model_validate(settings.plugins.section(NAME)).greeting
    click.echo(f"{greeting}, {name}")


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return HelloSettings if name == NAME else None


@hookimpl
def salon_routes() -> list[BaseRoute]:
    return [ping, Route("/hello", hello_page)]


@hookimpl
def salon_migrations() -> Path:
    return HERE / "migrations"


@hookimpl
def salon_cli_commands() -> list[click.Command]:
    return [hello_command]


@hookimpl
def salon_web_dirs() -> dict[str, Path]:
    return {"templates": HERE / "templates", "static": HERE / "static"}


@hookimpl
def salon_page_assets(page: str, viewer: Any) -> dict[str, Any] | None:
    if page != "hallway":
        return None
    return {
        "scripts": ["/static/plugins/hello/hello.js"],
        "nav": [{"href": "/hello", "label": "Hello"}],
    }


@hookimpl
def salon_permission(actor: Any, action: str, resource: Any) -> bool | None:
    if action == "user.follow" and getattr(resource, "username", None) == PROTECTED_USERNAME:
        return False
    return None
