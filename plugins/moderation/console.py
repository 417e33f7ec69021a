"""The admin console page, ``/moderation``: moderators only (asked of permissions on
the server, like every console endpoint)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from salon.core.auth import current_user
from salon.core.routes.pages import render

from .rules import CONSOLE


async def console_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/moderation", status_code=303)
    reason = await request.app.state.permissions.decide(user, CONSOLE)
    if reason is not None:
        return await render(
            request, "message.html", status=403, page="moderation", message="Moderators only."
        )
    return await render(
        request,
        "moderation/console.html",
        page="moderation",
        is_admin=user.is_admin,
        reasons=request.app.state.moderation.settings.report_reasons,
    )


routes = [Route("/moderation", console_page, name="moderation_console")]
