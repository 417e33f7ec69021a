"""A room as an ActivityStreams object (issue 9): an ``Event`` that is also a
``SalonRoom``, with Salon's extension terms; the ``Note`` told to servers that are not
Salon; the context document (``GET /ns/salon``) and the room object at
``GET /rooms/{id}`` (content-negotiated with the core's room page).

The wire format is documented in federation/README.md, "Rooms across servers".
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import UTC, datetime
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from salon.core import room_store
from salon.core.errors import NotFound
from salon.core.models import RoomRow, User
from salon.core.rooms import Room, RoomState, Visibility

from .activities import AS_CONTEXT, PUBLIC
from .client import ACTIVITY_JSON
from .service import Federation

# The namespace of Salon's terms: an identifier, stable across instances and versions.
NS = "https://salon.social/ns#"
TERMS: dict[str, Any] = {
    "salon": NS,
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "SalonRoom": "salon:SalonRoom",
    "roomState": "salon:roomState",
    "visibility": "salon:visibility",
    "speakers": {"@id": "salon:speakers", "@container": "@list"},
    "role": "salon:role",
    "listenerCount": {"@id": "salon:listenerCount", "@type": "xsd:nonNegativeInteger"},
    "joinEndpoint": {"@id": "salon:joinEndpoint", "@type": "@id"},
    "joinPage": {"@id": "salon:joinPage", "@type": "@id"},
    "club": {"@id": "salon:club", "@type": "@id"},
}
# Objects carry the terms inline, so readers never need to fetch the context.
ROOM_CONTEXT: list[Any] = [AS_CONTEXT, TERMS]
ROOM_TYPE = "SalonRoom"
STATES = frozenset(s.value for s in RoomState)
VISIBILITIES = frozenset(v.value for v in Visibility)
# What a change must touch to be sent at once (listener counts wait for the refresh).
MEANINGFUL = ("name", "summary", "roomState", "visibility", "speakers", "startTime", "club")


def is_room(obj: Any) -> bool:
    """Whether OBJ is a Salon room object (its type is or includes ``SalonRoom``)."""
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    return kind == ROOM_TYPE or (isinstance(kind, list) and ROOM_TYPE in kind)


def room_uri(fed: Federation, room_id: int) -> str:
    return f"{fed.base_url}/rooms/{room_id}"


def actor_of(fed: Federation, user: User) -> str:
    """USER's actor id: their home server's for a guest account, else this one's."""
    return getattr(user, "home", None) or fed.user_uri(user.username)


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.isoformat().replace("+00:00", "Z")


async def room_object(
    fed: Federation, room: Room, row: RoomRow, club_actors: list[str] | None = None
) -> dict[str, Any]:
    """The room object of a local ROOM (ROW holds its times)."""
    users = await fed.app.state.rooms.user_rows([room.creator_id, *room.members])
    creator = users.get(room.creator_id)
    host = actor_of(fed, creator) if creator else fed.instance_uri
    speakers = []
    for member in room.stage():
        user = users.get(member.user_id)
        if user is None:
            continue
        speakers.append(
            {
                "id": actor_of(fed, user),
                "name": user.display_name or user.username,
                "preferredUsername": user.username.split("@", 1)[0],
                "role": member.role.value,
            }
        )
    uri = room_uri(fed, room.id)
    followers = [f"{host}/followers", *(f"{c}/followers" for c in club_actors or [])]
    is_open = room.visibility is Visibility.OPEN
    start = row.opened_at if room.state is not RoomState.SCHEDULED else room.scheduled_for
    obj: dict[str, Any] = {
        "@context": ROOM_CONTEXT,
        "id": uri,
        "type": ["Event", ROOM_TYPE],
        "attributedTo": host,
        "name": room.title,
        "summary": room.description,
        "startTime": _iso(start or room.scheduled_for or row.created_at),
        "roomState": room.state.value,
        "visibility": room.visibility.value,
        "speakers": speakers,
        "listenerCount": len(room.members),
        "url": uri,
        "joinEndpoint": f"{fed.base_url}/api/federation/join",
        "joinPage": f"{fed.base_url}/federation/join",
        "updated": _iso(datetime.now(UTC)),
        "to": [PUBLIC] if is_open else followers,
        "cc": followers if is_open else [],
    }
    if room.state is RoomState.ENDED:
        obj["endTime"] = _iso(row.ended_at or datetime.now(UTC))
    if club_actors:
        obj["club"] = club_actors[0]
    return obj


def digest(obj: dict[str, Any]) -> str:
    """A fingerprint of what matters in a room object (not its listener count)."""
    picked = {k: obj.get(k) for k in MEANINGFUL}
    return hashlib.sha256(json.dumps(picked, sort_keys=True).encode()).hexdigest()


def note_object(obj: dict[str, Any], note_id: str, handle: str) -> dict[str, Any]:
    """The ``Note`` servers that are not Salon show in their timelines:
    "@host is live: TITLE — URL" (HANDLE is the host's ``name@server``)."""
    host = obj["attributedTo"]
    url = obj["url"]
    text = f"@{handle} is live: {obj['name']} — {url}"
    content = (
        f'<p><span class="h-card"><a href="{html.escape(host)}" class="u-url mention">'
        f"@{html.escape(handle.split('@', 1)[0])}</a></span> is live: "
        f'{html.escape(obj["name"])} — <a href="{html.escape(url)}">{html.escape(url)}</a></p>'
    )
    return {
        "id": note_id,
        "type": "Note",
        "attributedTo": host,
        "content": content,
        "contentMap": {"en": content},
        "source": {"content": text, "mediaType": "text/plain"},
        "url": url,
        "published": _iso(datetime.now(UTC)),
        # Only an open room is announced publicly; others to the host's followers.
        "to": [PUBLIC] if obj.get("visibility") == "open" else [f"{host}/followers"],
        "cc": [f"{host}/followers"] if obj.get("visibility") == "open" else [],
        "tag": [{"type": "Mention", "href": host, "name": f"@{handle}"}],
    }


# -- routes ------------------------------------------------------------------------


async def context_document(request: Request) -> Response:
    """``GET /ns/salon``: the JSON-LD context of Salon's terms."""
    return JSONResponse(
        {"@context": TERMS},
        media_type="application/ld+json",
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def room_document(request: Request) -> Response:
    """``/rooms/{id}``: the room object for ActivityPub clients (open rooms), the
    core's room page for everyone else."""
    from salon.core.routes.pages import room_page

    from .discovery import not_found, wants_activity_json

    if not wants_activity_json(request):
        return await room_page(request)
    fed: Federation = request.app.state.federation
    raw = request.path_params["room_id"]
    if len(raw) > 18:
        return not_found("no such room")
    try:
        async with fed.db.session() as session:
            _, room = await room_store.load(session, int(raw))
            row = await session.get(RoomRow, int(raw))
    except NotFound:
        return not_found("no such room")
    if room.visibility is not Visibility.OPEN or row is None:
        return not_found("no such room")  # only open rooms are described to anyone asking
    from .room_publishing import club_actors

    obj = await room_object(fed, room, row, await club_actors(fed, room))
    return JSONResponse(obj, media_type=ACTIVITY_JSON)


class DigitsConvertor(Convertor[str]):
    """A path segment of digits, kept as the string the core's handlers expect."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("digits", DigitsConvertor())

routes = [
    Route("/ns/salon", context_document),
    # Numeric ids only, so the core's other pages under /rooms/ (``/rooms/new``) stay its.
    Route("/rooms/{room_id:digits}", room_document),
]
