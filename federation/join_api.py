"""Joining rooms across servers (issue 9): the routes and pages.

- ``POST /api/federation/grants`` (home side): a join grant for a room elsewhere;
  page ``/federation/join-remote?room=<id>`` gets one and goes there.
- ``POST /api/federation/join`` (room side): a grant in, a guest session out; page
  ``/federation/join#grant=<JWS>`` posts the grant from the fragment and enters.
- ``POST /api/federation/guests``: the guest account of ``@name@host``, to put a
  remote person on a closed room's guest list.
"""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from salon.core.api import endpoint, ok, read_json
from salon.core.auth import current_user, require_user
from salon.core.errors import Forbidden
from salon.core.guests import sign_in_guest
from salon.core.models import User
from salon.core.routes.pages import render
from salon.core.schemas import MAX_ID, Body

from . import guests
from .grants import MAX_TOKEN_CHARS
from .service import Federation, host_of

TAG = "federation"


class GrantBody(Body):
    room: str = Field(
        min_length=8, max_length=600, description="the room's id on its server (a URL)"
    )


class GrantOut(BaseModel):
    grant: str = Field(description="the join grant: a compact JWS, valid at most 60 s")
    expires_at: str
    join_url: str = Field(description="the room server's join page, with the grant in the fragment")
    join_endpoint: str = Field(description="where an API client posts {grant} instead")


class JoinBody(Body):
    grant: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS, description="the join grant")
    room: int | None = Field(
        None, ge=1, le=MAX_ID, description="the room the client means to enter; must be the grant's"
    )


class GuestOut(BaseModel):
    id: int
    username: str = Field(description="name@host")
    display_name: str
    home: str = Field(description="the person's actor id on their own server")


class JoinOut(BaseModel):
    token: str = Field(description="a Bearer token for this room only (also set as the session)")
    user: GuestOut
    room_id: int
    room_url: str
    expires_at: str


class HandleBody(Body):
    handle: str = Field(min_length=3, max_length=600, description="@name@host or an actor URL")


def fed_of(request: Request) -> Federation:
    return request.app.state.federation


def _guest_out(user: User) -> GuestOut:
    return GuestOut(
        id=user.id,  # type: ignore[arg-type]
        username=user.username,
        display_name=user.display_name,
        home=user.home or "",
    )


@endpoint(
    "POST",
    "/api/federation/grants",
    summary="A join grant for a room on another server",
    body=GrantBody,
    response=GrantOut,
    status=201,
    tag=TAG,
)
async def create_grant(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, GrantBody)
    issued = await guests.issue_grant(fed_of(request), user, body.room)
    return ok(
        GrantOut(
            grant=issued.grant,
            expires_at=issued.expires_at.isoformat(),
            join_url=issued.join_url,
            join_endpoint=issued.join_endpoint,
        ),
        status=201,
    )


@endpoint(
    "POST",
    "/api/federation/join",
    summary="Enter a room here with a join grant from your own server",
    body=JoinBody,
    response=JoinOut,
    auth=False,
    tag=TAG,
)
async def join_with_grant(request: Request) -> Response:
    body = await read_json(request, JoinBody)
    admitted = await guests.admit(fed_of(request), body.grant, expected_room=body.room)
    sign_in_guest(request, admitted.secret)
    expires = admitted.credential.expires_at
    return ok(
        JoinOut(
            token=admitted.secret,
            user=_guest_out(admitted.user),
            room_id=admitted.room_id,
            room_url=f"/rooms/{admitted.room_id}",
            expires_at=expires.isoformat() if expires else "",
        )
    )


@endpoint(
    "POST",
    "/api/federation/guests",
    summary="The guest account of someone on another server (to invite them to a room)",
    body=HandleBody,
    response=GuestOut,
    tag=TAG,
)
async def guest_for_handle(request: Request) -> Response:
    user = await require_user(request)
    if user.home is not None:
        raise Forbidden("a guest from another server cannot do this", code="guest_account")
    body = await read_json(request, HandleBody)
    found = await guests.guest_from_handle(fed_of(request), body.handle)
    return ok(_guest_out(found))


async def join_remote_page(request: Request) -> Response:
    """``/federation/join-remote?room=<id>``: get a grant, then go to the room's server."""
    room = request.query_params.get("room", "")
    if await current_user(request) is None:
        back = f"/federation/join-remote?room={quote(room, safe='')}"
        return RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)
    return await render(
        request,
        "federation/join_remote.html",
        page="federation_join_remote",
        room=room,
        room_host=host_of(room),
    )


async def join_page(request: Request) -> Response:
    """``/federation/join#grant=<JWS>``: the grant stays in the fragment (never sent
    in a request line or a Referer); the page's script posts it."""
    response = await render(request, "federation/join.html", page="federation_join")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [
    create_grant,
    join_with_grant,
    guest_for_handle,
    Route("/federation/join-remote", join_remote_page),
    Route("/federation/join", join_page),
]
