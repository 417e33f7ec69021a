"""The clubs pages of the web client: server-rendered from the plugin's templates;
``static/clubs.js`` sends the forms and buttons to the JSON API."""

from __future__ import annotations

from urllib.parse import quote
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from salon.core.auth import current_user
from salon.core.errors import SalonError
from salon.core.routes.pages import not_found_page, render

from . import policy
from .club_rooms import ClubRooms
from .models import JoinPolicy, MemberList, Role
from .service import ClubService

ZONES = [*sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")), "UTC"]


def _login(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path, safe='/')}", status_code=303)


async def clubs_page(request: Request) -> Response:
    viewer = await current_user(request)
    clubs = await ClubService(request.app).list_clubs(viewer)
    return await render(request, "clubs/clubs.html", page="clubs", clubs=clubs)


async def new_club_page(request: Request) -> Response:
    if await current_user(request) is None:
        return _login(request)
    return await render(request, "clubs/club_form.html", page="clubs.new", club=None, **_choices())


def _choices() -> dict[str, object]:
    return {
        "join_policies": [p.value for p in JoinPolicy],
        "member_lists": [m.value for m in MemberList],
    }


async def club_page(request: Request) -> Response:
    viewer = await current_user(request)
    clubs = ClubService(request.app)
    try:
        club = await clubs.club(request.path_params["handle"])
    except SalonError:
        return await not_found_page(request)
    body = await clubs.club_json(club, viewer)
    members = None
    if body["viewer"]["can_see_members"]:
        members = [m for m in await clubs.members(viewer, club) if m["status"] == "active"]
    rooms = await ClubRooms(clubs).rooms_json(viewer, club)
    return await render(
        request,
        "clubs/club.html",
        page="clubs.club",
        club=body,
        members=members,
        live=[r for r in rooms if r["state"] == "live"],
        scheduled=[r for r in rooms if r["state"] == "scheduled"],
        zones=ZONES,
    )


async def _admin_page(request: Request, template: str, page: str) -> Response:
    viewer = await current_user(request)
    if viewer is None:
        return _login(request)
    clubs = ClubService(request.app)
    try:
        club = await clubs.club(request.path_params["handle"])
        await clubs.check(viewer, policy.UPDATE, club)
    except SalonError as exc:
        if exc.status == 404:
            return await not_found_page(request)
        return await render(request, "message.html", status=exc.status, message=exc.message)
    body = await clubs.club_json(club, viewer)
    members = await clubs.members(viewer, club)
    return await render(
        request,
        template,
        page=page,
        club=body,
        members=members,
        roles=[r.value for r in Role],
        **_choices(),
    )


async def edit_club_page(request: Request) -> Response:
    return await _admin_page(request, "clubs/club_form.html", "clubs.edit")


async def members_page(request: Request) -> Response:
    return await _admin_page(request, "clubs/club_members.html", "clubs.members")


routes = [
    Route("/clubs", clubs_page, name="clubs"),
    Route("/clubs/new", new_club_page, name="clubs_new"),
    Route("/clubs/{handle}", club_page, name="club"),
    Route("/clubs/{handle}/edit", edit_club_page, name="club_edit"),
    Route("/clubs/{handle}/members", members_page, name="club_members"),
]
