"""Health and the API's own description."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import openapi
from ..api import endpoint, ok
from ..auth import current_user
from ..schemas import Health, PluginList, PluginState


@endpoint("GET", "/healthz", summary="Liveness", response=Health, auth=False, tag="system")
async def healthz(request: Request) -> Response:
    return ok({"status": "ok"})


@endpoint(
    "GET", "/api/openapi.json", summary="This document (OpenAPI 3.1)", auth=False, tag="system"
)
async def openapi_json(request: Request) -> Response:
    app = request.app
    if not hasattr(app.state, "openapi"):
        app.state.openapi = openapi.build(app.routes, app.state.settings.instance.name)
    return ok(app.state.openapi)


@endpoint(
    "GET",
    "/api/plugins",
    summary="Installed plugins and their state (admins also see why one failed)",
    response=PluginList,
    auth=False,
    tag="system",
)
async def list_plugins(request: Request) -> Response:
    viewer = await current_user(request)
    plugins = request.app.state.plugins.plugins.values()
    return ok(
        PluginList(
            plugins=[
                PluginState(
                    name=p.name,
                    version=p.version,
                    enabled=p.enabled,
                    state=p.state if p.enabled else "disabled",
                    reason=p.reason if viewer is not None and viewer.is_admin else None,
                )
                for p in sorted(plugins, key=lambda p: p.name)
            ]
        )
    )


routes = [healthz, openapi_json, list_plugins]
