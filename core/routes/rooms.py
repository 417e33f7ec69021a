"""Rooms over HTTP, the room socket and the hallway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..api import endpoint, ok, path_int, read_json
from ..auth import current_user, require_user
from ..errors import Forbidden, SalonError, Unavailable, ValidationFailed
from ..events import CLOSE_ENDED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_RESYNC
from ..hallway import hallway
from ..permissions import ROOM_AUDIO
from ..rooms import Action, Room, RoomEvent
from ..schemas import (
    AudioAnswer,
    AudioConfig,
    AudioOfferBody,
    EmptyBody,
    Hallway,
    MuteBody,
    RoomBody,
    RoomOut,
    RoomUpdateBody,
    TargetBody,
)

logger = logging.getLogger(__name__)


@endpoint(
    "POST",
    "/api/rooms",
    summary="Open a room now, or schedule one with scheduled_for",
    body=RoomBody,
    response=RoomOut,
    status=201,
    tag="rooms",
)
async def create_room(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, RoomBody)
    room = await request.app.state.rooms.create(
        user,
        title=body.title,
        description=body.description,
        visibility=body.visibility,
        scheduled_for=body.scheduled_for,
    )
    return ok(room, 201)


@endpoint(
    "GET",
    "/api/rooms/{room_id}",
    summary="A room's state",
    response=RoomOut,
    auth=False,
    tag="rooms",
)
async def get_room(request: Request) -> Response:
    viewer = await current_user(request)
    return ok(await request.app.state.rooms.view(path_int(request, "room_id"), viewer))


@endpoint(
    "PATCH",
    "/api/rooms/{room_id}",
    summary="Change a room's title or description (hosts)",
    body=RoomUpdateBody,
    response=RoomOut,
    tag="rooms",
)
async def update_room(request: Request) -> Response:
    user = await require_user(request)
    room_id = path_int(request, "room_id")
    body = await read_json(request, RoomUpdateBody)
    service = request.app.state.rooms
    if body.title is not None:
        await service.check_content(user, "room.title", body.title, "title")
    if body.description:
        await service.check_content(user, "room.description", body.description, "description")
    return ok(
        await service.moderate(
            room_id, user, Action.UPDATE, None, title=body.title, description=body.description
        )
    )


def _self_action(
    path: str, summary: str, apply: Callable[[Room, int], list[RoomEvent]], method: str = "POST"
) -> Any:
    """An endpoint where a member acts on their own place in the room."""

    async def handler(request: Request) -> Response:
        user = await require_user(request)
        room_id = path_int(request, "room_id")
        await read_json(request, EmptyBody)
        service = request.app.state.rooms
        return ok(await service.transition(room_id, user, lambda room: apply(room, user.id)))

    handler.__name__ = summary.lower().replace(" ", "_").replace(",", "")
    return endpoint(method, path, summary=summary, body=EmptyBody, response=RoomOut, tag="rooms")(
        handler
    )


def _target_action(path: str, summary: str, action: Action, body_model: Any = TargetBody) -> Any:
    """An endpoint where a member acts on another (moderators) or on themselves."""

    async def handler(request: Request) -> Response:
        user = await require_user(request)
        room_id = path_int(request, "room_id")
        body = await read_json(request, body_model)
        extra = {"muted": body.muted} if isinstance(body, MuteBody) else {}
        service = request.app.state.rooms
        return ok(await service.moderate(room_id, user, action, body.user_id, **extra))

    handler.__name__ = action.value.replace(".", "_")
    return endpoint("POST", path, summary=summary, body=body_model, response=RoomOut, tag="rooms")(
        handler
    )


@endpoint(
    "POST",
    "/api/rooms/{room_id}/join",
    summary="Enter a live room as a listener",
    body=EmptyBody,
    response=RoomOut,
    tag="rooms",
)
async def join_room(request: Request) -> Response:
    user = await require_user(request)
    room_id = path_int(request, "room_id")
    await read_json(request, EmptyBody)
    return ok(await request.app.state.rooms.join(room_id, user))


async def _room_action(request: Request, action: Action) -> Response:
    user = await require_user(request)
    room_id = path_int(request, "room_id")
    await read_json(request, EmptyBody)
    return ok(await request.app.state.rooms.moderate(room_id, user, action, None))


@endpoint(
    "POST",
    "/api/rooms/{room_id}/open",
    summary="Open a scheduled room (its creator)",
    body=EmptyBody,
    response=RoomOut,
    tag="rooms",
)
async def open_room(request: Request) -> Response:
    return await _room_action(request, Action.OPEN)


@endpoint(
    "POST",
    "/api/rooms/{room_id}/end",
    summary="End the room for everyone (hosts and moderators)",
    body=EmptyBody,
    response=RoomOut,
    tag="rooms",
)
async def end_room(request: Request) -> Response:
    return await _room_action(request, Action.END)


@endpoint(
    "GET",
    "/api/rooms/{room_id}/audio",
    summary="Audio set-up for a present member: ICE servers and downstream audio slots",
    response=AudioConfig,
    tag="rooms",
)
async def audio_config(request: Request) -> Response:
    user = await require_user(request)
    room_id = path_int(request, "room_id")
    service = request.app.state.rooms
    room = await service.load(room_id)
    await request.app.state.permissions.check(user, ROOM_AUDIO, room)
    if service.transport is None:
        raise Unavailable("no audio transport is running on this instance")
    return ok(AudioConfig.model_validate(service.transport.client_config(room_id)))


@endpoint(
    "POST",
    "/api/rooms/{room_id}/audio",
    summary="Connect my audio: send a WebRTC SDP offer, get the answer (present members)",
    body=AudioOfferBody,
    response=AudioAnswer,
    tag="rooms",
)
async def audio_connect(request: Request) -> Response:
    user = await require_user(request)
    room_id = path_int(request, "room_id")
    body = await read_json(request, AudioOfferBody)
    try:
        answer = await request.app.state.rooms.connect_audio(room_id, user, body.sdp)
    except ValueError as exc:
        raise ValidationFailed(f"sdp: {exc}", field="sdp") from None
    return ok({"type": "answer", "sdp": answer})


@endpoint(
    "GET",
    "/api/hallway",
    summary="Live and scheduled rooms for me, best first",
    response=Hallway,
    auth=False,
    tag="rooms",
)
async def get_hallway(request: Request) -> Response:
    viewer = await current_user(request)
    return ok({"rooms": await hallway(request.app.state.rooms, viewer)})


async def room_socket(websocket: WebSocket) -> None:
    """``WS /api/rooms/{room_id}/ws[?since=N&epoch=E]``: a snapshot, then numbered events.

    With ``since`` and the ``epoch`` of an earlier snapshot, the socket first replays
    the events after N, or sends a fresh snapshot when those are no longer held.
    """
    service = websocket.app.state.rooms
    hub = service.hub
    try:
        check_origin(websocket)
        viewer = await current_user(websocket)
        room_id = path_int(websocket, "room_id")  # type: ignore[arg-type]
        snapshot, sub = await service.snapshot(room_id, viewer)
    except SalonError as exc:
        await websocket.accept()
        await websocket.send_json(exc.to_json())
        code = CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_FORBIDDEN
        await websocket.close(code=code, reason=exc.message[:100])
        return
    await websocket.accept()
    presence = websocket.app.state.presence
    user_id = viewer.id if viewer else None
    presence.connected(room_id, user_id)
    try:
        backlog = None
        since = websocket.query_params.get("since", "")
        epoch = websocket.query_params.get("epoch", "")
        if since.isdigit() and epoch:
            backlog = hub.missed(room_id, epoch, int(since))
        if backlog is None:
            await websocket.send_json(snapshot)
            if snapshot["room"]["state"] == "ended":
                await websocket.close(code=CLOSE_ENDED)
                return
        else:
            for message in backlog:
                if message.seq <= snapshot["seq"]:
                    await websocket.send_text(message.text)
        await _pump(websocket, sub)
    except (WebSocketDisconnect, ConnectionError):
        logger.debug("room %s: a socket went away mid-send", room_id)
    finally:
        hub.unsubscribe(sub)
        presence.disconnected(room_id, user_id)


def check_origin(websocket: WebSocket) -> None:
    """Refuse a cross-site page riding a visitor's session cookie into a socket: a
    browser always sends Origin, and it must be this instance's."""
    origin = websocket.headers.get("origin")
    if origin is None or "authorization" in websocket.headers:
        return
    host = websocket.headers.get("host", "")
    allowed = {f"http://{host}", f"https://{host}", websocket.app.state.settings.instance.base_url}
    if origin not in allowed:
        raise Forbidden(f"a room socket from origin {origin} is not accepted here")


async def _pump(websocket: WebSocket, sub: Any) -> None:
    """Send queued events until the client leaves, the room ends or the client falls
    behind; read (and ignore) what the client sends, to notice it leaving."""

    async def receive() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    receiver = asyncio.create_task(receive())
    try:
        while True:
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                return
            message = getter.result()
            if message is None:
                code = sub.close_code or (CLOSE_RESYNC if sub.overflowed else CLOSE_ENDED)
                if websocket.application_state == WebSocketState.CONNECTED:
                    await websocket.close(code=code)
                return
            await websocket.send_text(message.text)
    finally:
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)


ROOM = "/api/rooms/{room_id}"

routes = [
    create_room,
    get_hallway,
    get_room,
    update_room,
    open_room,
    join_room,
    _self_action(f"{ROOM}/leave", "Leave the room", lambda room, me: room.leave(me)),
    _self_action(f"{ROOM}/hand", "Raise my hand", lambda room, me: room.raise_hand(me)),
    _self_action(
        f"{ROOM}/hand", "Lower my hand", lambda room, me: room.lower_hand(me), method="DELETE"
    ),
    _self_action(
        f"{ROOM}/invitation/accept",
        "Accept the invitation to speak",
        lambda room, me: room.accept_invitation(me),
    ),
    _self_action(
        f"{ROOM}/invitation/decline",
        "Decline the invitation to speak",
        lambda room, me: room.decline_invitation(me),
    ),
    _target_action(f"{ROOM}/invite-to-speak", "Invite a listener to speak", Action.INVITE_TO_SPEAK),
    _target_action(
        f"{ROOM}/move-to-audience",
        "Move a speaker to the audience (or step down yourself)",
        Action.MOVE_TO_AUDIENCE,
    ),
    _target_action(f"{ROOM}/make-moderator", "Make a speaker a moderator", Action.MAKE_MODERATOR),
    _target_action(
        f"{ROOM}/mute",
        "Mute or unmute: your own microphone, or a moderator's mute on a speaker",
        Action.MUTE,
        MuteBody,
    ),
    _target_action(f"{ROOM}/remove", "Remove a member; they cannot rejoin", Action.REMOVE),
    _target_action(f"{ROOM}/guests", "Add a user to a closed room's guest list", Action.INVITE),
    end_room,
    audio_config,
    audio_connect,
    WebSocketRoute(f"{ROOM}/ws", room_socket, name="room_socket"),
]
