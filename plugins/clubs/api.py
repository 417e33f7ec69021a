"""The clubs HTTP API under ``/api/clubs``: thin handlers over :mod:`.service`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from salon.core.api import endpoint, no_content, ok, path_int, read_json
from salon.core.auth import current_user, require_user
from salon.core.errors import NotFound
from salon.core.schemas import EmptyBody, RoomOut

from . import calendar
from .club_rooms import ClubRooms
from .models import Club
from .schemas import (
    ClubBody,
    ClubList,
    ClubOut,
    ClubRoomBody,
    ClubRoomList,
    ClubUpdateBody,
    InviteBody,
    LeaveBody,
    Members,
    MembershipOut,
    RoleBody,
    UsernameBody,
)
from .service import ClubService

TAG = "clubs"
CLUB = "/api/clubs/{handle}"
ICS = "text/calendar"


def service(request: Request) -> ClubService:
    return ClubService(request.app)


async def the_club(request: Request) -> Club:
    return await service(request).club(request.path_params["handle"])


@endpoint("GET", "/api/clubs", summary="Every club", response=ClubList, auth=False, tag=TAG)
async def list_clubs(request: Request) -> Response:
    viewer = await current_user(request)
    return ok(ClubList.model_validate({"clubs": await service(request).list_clubs(viewer)}))


@endpoint(
    "POST",
    "/api/clubs",
    summary="Create a club",
    body=ClubBody,
    response=ClubOut,
    status=201,
    tag=TAG,
)
async def create_club(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, ClubBody)
    clubs = service(request)
    club = await clubs.create(user, body)
    return ok(ClubOut.model_validate(await clubs.club_json(club, user)), 201)


@endpoint("GET", CLUB, summary="A club", response=ClubOut, auth=False, tag=TAG)
async def get_club(request: Request) -> Response:
    viewer = await current_user(request)
    clubs = service(request)
    return ok(ClubOut.model_validate(await clubs.club_json(await the_club(request), viewer)))


@endpoint(
    "PATCH", CLUB, summary="Edit a club (admins)", body=ClubUpdateBody, response=ClubOut, tag=TAG
)
async def update_club(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, ClubUpdateBody)
    clubs = service(request)
    club = await clubs.update(user, await the_club(request), body)
    return ok(ClubOut.model_validate(await clubs.club_json(club, user)))


@endpoint(
    "GET",
    f"{CLUB}/members",
    summary="The members (as the club's member-list policy allows); admins also see "
    "invitations and requests",
    response=Members,
    auth=False,
    tag=TAG,
)
async def list_members(request: Request) -> Response:
    viewer = await current_user(request)
    club = await the_club(request)
    return ok(Members.model_validate({"members": await service(request).members(viewer, club)}))


@endpoint(
    "POST",
    f"{CLUB}/join",
    summary="Join (open club), ask to join (approval), or accept an invitation",
    body=EmptyBody,
    response=MembershipOut,
    tag=TAG,
)
async def join(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    return ok(await service(request).join(user, await the_club(request)))


@endpoint(
    "POST",
    f"{CLUB}/invitation/decline",
    summary="Decline an invitation to the club",
    body=EmptyBody,
    response=MembershipOut,
    tag=TAG,
)
async def decline_invitation(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    return ok(await service(request).decline_invitation(user, await the_club(request)))


@endpoint(
    "POST",
    f"{CLUB}/leave",
    summary="Leave the club (or withdraw a request); the last admin names a successor",
    body=LeaveBody,
    response=MembershipOut,
    tag=TAG,
)
async def leave(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, LeaveBody)
    return ok(await service(request).leave(user, await the_club(request), body.successor))


@endpoint(
    "POST",
    f"{CLUB}/invitations",
    summary="Invite someone by username, as member, leader or admin (admins)",
    body=InviteBody,
    response=MembershipOut,
    status=201,
    tag=TAG,
)
async def invite(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, InviteBody)
    club = await the_club(request)
    return ok(await service(request).invite(user, club, body.username, body.role), 201)


async def _review(request: Request, approve: bool) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    club = await the_club(request)
    username = request.path_params["username"]
    return ok(await service(request).review(user, club, username, approve))


@endpoint(
    "POST",
    f"{CLUB}/requests/{{username}}/approve",
    summary="Approve a request to join (admins)",
    body=EmptyBody,
    response=MembershipOut,
    tag=TAG,
)
async def approve_request(request: Request) -> Response:
    return await _review(request, True)


@endpoint(
    "POST",
    f"{CLUB}/requests/{{username}}/decline",
    summary="Decline a request to join; nothing of it is kept (admins)",
    body=EmptyBody,
    response=MembershipOut,
    tag=TAG,
)
async def decline_request(request: Request) -> Response:
    return await _review(request, False)


@endpoint(
    "PATCH",
    f"{CLUB}/members/{{username}}",
    summary="Promote or demote a member: admin, leader, member (admins)",
    body=RoleBody,
    response=MembershipOut,
    tag=TAG,
)
async def set_role(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, RoleBody)
    club = await the_club(request)
    username = request.path_params["username"]
    return ok(await service(request).set_role(user, club, username, body.role))


@endpoint(
    "DELETE",
    f"{CLUB}/members/{{username}}",
    summary="Remove a member, or cancel an invitation (admins)",
    response=MembershipOut,
    tag=TAG,
)
async def remove_member(request: Request) -> Response:
    user = await require_user(request)
    club = await the_club(request)
    username = request.path_params["username"]
    return ok(await service(request).remove(user, club, username))


@endpoint(
    "POST",
    f"{CLUB}/hand-over",
    summary="Hand the club to a member: they become an admin, you a member (admins)",
    body=UsernameBody,
    response=MembershipOut,
    tag=TAG,
)
async def hand_over(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, UsernameBody)
    return ok(await service(request).hand_over(user, await the_club(request), body.username))


@endpoint("POST", f"{CLUB}/follow", summary="Follow a club", body=EmptyBody, status=204, tag=TAG)
async def follow(request: Request) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    await service(request).follow(user, await the_club(request), True)
    return no_content()


@endpoint("DELETE", f"{CLUB}/follow", summary="Unfollow a club", status=204, tag=TAG)
async def unfollow(request: Request) -> Response:
    user = await require_user(request)
    await service(request).follow(user, await the_club(request), False)
    return no_content()


@endpoint(
    "GET",
    f"{CLUB}/rooms",
    summary="The club's live and scheduled rooms you may see, live first, then by start",
    response=ClubRoomList,
    auth=False,
    tag=TAG,
)
async def list_rooms(request: Request) -> Response:
    viewer = await current_user(request)
    club = await the_club(request)
    return ok({"rooms": await ClubRooms(service(request)).rooms_json(viewer, club)})


@endpoint(
    "POST",
    f"{CLUB}/rooms",
    summary="Open a room for the club now, or schedule one (admins and leaders)",
    body=ClubRoomBody,
    response=RoomOut,
    status=201,
    tag=TAG,
)
async def open_room(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, ClubRoomBody)
    club = await the_club(request)
    return ok(await ClubRooms(service(request)).open_room(user, club, body), 201)


def ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"content-disposition": f'inline; filename="{filename}"'},
    )


@endpoint(
    "GET",
    f"{CLUB}/calendar.ics",
    summary="The club's schedule as an iCalendar feed (RFC 5545)",
    auth=False,
    tag=TAG,
    media_type=ICS,
)
async def club_calendar(request: Request) -> Response:
    viewer = await current_user(request)
    clubs = service(request)
    club = await the_club(request)
    found = await ClubRooms(clubs).club_rooms(viewer, club, states=("live", "scheduled", "ended"))
    base = request.app.state.settings.instance.base_url
    body = calendar.calendar(club, [(link, row) for link, row, _ in found], base, name=club.name)
    return ics(body, f"{club.handle}.ics")


@endpoint(
    "GET",
    f"{CLUB}/rooms/{{room_id}}/event.ics",
    summary="One club room as an iCalendar file: 'add to calendar'",
    auth=False,
    tag=TAG,
    media_type=ICS,
)
async def event_calendar(request: Request) -> Response:
    viewer = await current_user(request)
    clubs = service(request)
    club = await the_club(request)
    room_id = path_int(request, "room_id")
    found = await ClubRooms(clubs).club_rooms(viewer, club, states=("live", "scheduled", "ended"))
    pairs = [(link, row) for link, row, _ in found if row.id == room_id]
    if not pairs:
        raise NotFound(f"club {club.handle} has no room {room_id} you may see", field="room_id")
    base = request.app.state.settings.instance.base_url
    body = calendar.calendar(club, pairs, base, name=f"{club.name}: {pairs[0][1].title}")
    return ics(body, f"{club.handle}-{room_id}.ics")


routes = [
    list_clubs,
    create_club,
    get_club,
    update_club,
    list_members,
    join,
    decline_invitation,
    leave,
    invite,
    approve_request,
    decline_request,
    set_role,
    remove_member,
    hand_over,
    follow,
    unfollow,
    list_rooms,
    open_room,
    club_calendar,
    event_calendar,
]
