"""The web client's pages: server-rendered templates; live parts are small JS modules
in core/web/static that talk to the JSON API and the room socket."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..auth import current_user
from ..errors import NotFound, SalonError
from ..hallway import hallway
from .users import user_by_name

WEB = Path(__file__).resolve().parent.parent / "web"


def utc_iso(value: str | datetime | None) -> str:
    """A stored time as ISO 8601 with its offset; a time stored without one is UTC."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def make_templates(plugin_dirs: dict[str, Path] | None = None) -> Jinja2Templates:
    """The instance's templates: the core's, and each plugin's under ``"<plugin>/"``."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(WEB / "templates"),
            jinja2.PrefixLoader(
                {name: jinja2.FileSystemLoader(path) for name, path in (plugin_dirs or {}).items()}
            ),
        ]
    )
    templates = Jinja2Templates(env=jinja2.Environment(loader=loader, autoescape=True))
    templates.env.filters["utc_iso"] = utc_iso
    return templates


async def page_assets(request: Request, page: str, viewer: Any) -> dict[str, list[Any]]:
    """What the plugins add to PAGE (``salon_page_assets``), merged."""
    merged: dict[str, list[Any]] = {"scripts": [], "styles": [], "nav": []}
    for found in await request.app.state.plugins.call(
        "salon_page_assets", page=page, viewer=viewer
    ):
        for key, items in merged.items():
            items.extend(found.get(key) or [])
    return merged


async def render(
    request: Request, name: str, status: int = 200, *, page: str | None = None, **context: Any
) -> Response:
    """Render template NAME inside the site's layout; PAGE (default: NAME without
    ``.html``) tells plugins which page this is."""
    user = await current_user(request)
    settings = request.app.state.settings
    here = request.url.path
    if request.url.query:
        here += f"?{request.url.query}"
    # Where "Log in" and "Sign up" come back to: this page, unless it is one of theirs.
    back = "" if here == "/" or here.startswith(("/login", "/signup")) else here
    context.update(
        user=user,
        next_query=f"?next={quote(back, safe='/')}" if back else "",
        instance_name=settings.instance.name,
        registration=settings.instance.registration,
        assets=await page_assets(request, page or name.removesuffix(".html"), user),
    )
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status)


async def home(request: Request) -> Response:
    viewer = await current_user(request)
    rooms = await hallway(request.app.state.rooms, viewer)
    return await render(request, "hallway.html", rooms=rooms)


async def signup_page(request: Request) -> Response:
    return await render(request, "auth.html", mode="signup")


async def login_page(request: Request) -> Response:
    return await render(request, "auth.html", mode="login")


async def new_room_page(request: Request) -> Response:
    if await current_user(request) is None:
        return RedirectResponse("/login?next=/rooms/new", status_code=303)
    return await render(request, "new_room.html")


async def room_page(request: Request) -> Response:
    raw = request.path_params["room_id"]
    if not raw.isdigit():
        return await not_found_page(request)
    viewer = await current_user(request)
    try:
        room = await request.app.state.rooms.view(int(raw), viewer)
    except SalonError as exc:
        if exc.status == 404:
            return await not_found_page(request)
        return await render(request, "message.html", status=exc.status, message=exc.message)
    return await render(request, "room.html", room=room)


async def profile_page(request: Request) -> Response:
    try:
        user = await user_by_name(request)
    except NotFound:
        return await not_found_page(request)
    return await render(request, "profile.html", username=user.username)


async def settings_page(request: Request) -> Response:
    if await current_user(request) is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    return await render(request, "settings.html")


async def not_found_page(request: Request) -> Response:
    return await render(request, "message.html", status=404, message="Nothing here.")


routes = [
    Route("/", home, name="home"),
    Route("/signup", signup_page, name="signup"),
    Route("/login", login_page, name="login"),
    Route("/rooms/new", new_room_page, name="new_room"),
    Route("/rooms/{room_id}", room_page, name="room"),
    Route("/users/{username}", profile_page, name="profile"),
    Route("/settings", settings_page, name="settings"),
    Mount("/static", app=StaticFiles(directory=WEB / "static"), name="static"),
]
