"""A small test plugin standing in for moderation's instance blocks: it denies
``instance.federate`` for the hosts it was told to block, and on a block calls
``salon_instance_blocked`` the way moderation does."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from salon.core.hookspecs import hookimpl

blocked: set[str] = set()


async def block(request: Request) -> Response:
    domain = (await request.json())["domain"]
    blocked.add(domain)
    await request.app.state.plugins.call("salon_instance_blocked", domain=domain, actor=None)
    return JSONResponse({"blocked": domain})


@hookimpl
def salon_routes() -> list[Any]:
    return [Route("/test/block-instance", block, methods=["POST"])]


@hookimpl
def salon_permission(actor: Any, action: str, resource: Any) -> bool | None:
    if action == "instance.federate" and resource in blocked:
        return False
    return None
