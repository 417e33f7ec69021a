"""salon-hello: a third-party Salon plugin, written as an outside author would.

It uses only Salon's public plugin API (``salon.core.hookspecs`` and
``salon.core.api``) and is registered through the ``salon.plugins`` entry point
``hello = salon_hello``:

- ``[plugins.hello]`` settings, validated by :class:`HelloSettings`;
- ``GET /api/hello/ping``, answering with the configured greeting;
- a permission rule: nobody may follow the user named ``celebrity``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from salon.core.api import endpoint, ok
from salon.core.hookspecs import hookimpl

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


@hookimpl
def salon_settings_model(name: str) -> type[BaseModel] | None:
    return HelloSettings if name == NAME else None


@hookimpl
def salon_routes() -> list[BaseRoute]:
    return [ping]


@hookimpl
def salon_permission(actor: Any, action: str, resource: Any) -> bool | None:
    if action == "user.follow" and getattr(resource, "username", None) == PROTECTED_USERNAME:
        return False
    return None
