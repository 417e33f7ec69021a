"""Rooms held on other servers, as their ``Create``/``Update``/``Delete`` told this
instance (issue 9), and the hallway cards made of them (``salon_hallway_rooms``).

A room object is taken only from its own server: its id and its ``attributedTo`` must
be on the sender's origin. It is kept only if a local user follows its host, one of
its speakers or its club on that server, or if it is open and comes from a peer (an
instance this one's instance actor follows, ``salon federation peer``). Open rooms are
listed to everyone; social, closed and members-only rooms only to viewers who follow
one of its people. A room that ended, or that nobody refreshed for
``remote_room_ttl_seconds``, leaves the hallway.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from salon.core.models import User
from salon.core.rooms import RoomState

from . import room_objects
from .errors import BadActivity
from .follows import ACCEPTED, OUT
from .keys import aware
from .models import FederationFollow, FederationPeer, FederationRemoteRoom
from .remote import id_of, text_of
from .service import Federation, host_of, origin_of

logger = logging.getLogger(__name__)

LISTED = (RoomState.LIVE.value, RoomState.SCHEDULED.value)
MAX_SPEAKERS = 50
MAX_ROOMS = 500  # the hallway shows 200 at most, ranked with local rooms


def _on(origin: str, url: Any) -> str | None:
    """URL if it is an http(s) URL on ORIGIN, else None."""
    url = id_of(url)
    return (
        url
        if url and url.startswith(("https://", "http://")) and origin_of(url) == origin
        else None
    )


def _handle(actor_id: str, username: str) -> str:
    name = username or urlsplit(actor_id).path.rstrip("/").rsplit("/", 1)[-1] or "unknown"
    return f"{name}@{host_of(actor_id)}"


def parse(obj: dict[str, Any], sender: str) -> tuple[FederationRemoteRoom, dict[str, Any]]:
    """Check a room object SENDER sent; return its row (unsaved) and hallway card."""
    uri = id_of(obj)
    origin = origin_of(sender)
    if not uri or origin_of(uri) != origin:
        raise BadActivity("the room object's id is not on the sender's origin")
    host_actor = id_of(obj.get("attributedTo"))
    if not host_actor or origin_of(host_actor) != origin:
        raise BadActivity("the room's attributedTo is not on the sender's origin")
    state, visibility = obj.get("roomState"), obj.get("visibility")
    if state not in room_objects.STATES:
        raise BadActivity(f"roomState must be one of {sorted(room_objects.STATES)}")
    if visibility not in room_objects.VISIBILITIES:
        raise BadActivity(f"visibility must be one of {sorted(room_objects.VISIBILITIES)}")
    speakers = obj.get("speakers") if isinstance(obj.get("speakers"), list) else []
    stage, people = [], [host_actor]
    creator = {"username": _handle(host_actor, ""), "display_name": ""}
    for entry in speakers[:MAX_SPEAKERS]:
        actor = id_of(entry)
        if not actor or not isinstance(entry, dict):
            continue
        username = text_of(entry.get("preferredUsername"), 200)
        user = {
            "username": _handle(actor, username),
            "display_name": text_of(entry.get("name"), 200) or username,
        }
        stage.append({"role": text_of(entry.get("role"), 20) or "speaker", "user": user})
        if origin_of(actor) == origin:  # its server speaks for its own people only
            people.append(actor)
        if actor == host_actor:
            creator = user
    club = id_of(obj.get("club"))
    if club and origin_of(club) == origin:
        people.append(club)
    count = obj.get("listenerCount")
    start = obj.get("startTime")
    scheduled = state == RoomState.SCHEDULED.value
    card = {
        "id": uri,
        "title": text_of(obj.get("name"), 120),
        "description": text_of(obj.get("summary") or obj.get("content"), 1000),
        "state": state,
        "visibility": visibility,
        "creator": creator,
        "scheduled_for": start if scheduled and isinstance(start, str) else None,
        "stage": stage,
        "audience": [],
        "listener_count": count if isinstance(count, int) and count >= 0 else 0,
        "extras": {},
        "origin": host_of(uri),
        "href": f"/federation/join-remote?room={quote(uri, safe='')}",
        # Where a grant goes: the object's own links, on the room's own origin only.
        "join_page": _on(origin, obj.get("joinPage")),
        "join_endpoint": _on(origin, obj.get("joinEndpoint")),
    }
    row = FederationRemoteRoom(
        object_id=uri,
        host=host_of(uri),
        state=state,
        visibility=visibility,
        people=json.dumps(list(dict.fromkeys(people))),
        card=json.dumps(card),
        refreshed_at=datetime.now(UTC),
    )
    return row, card


async def followed_by_anyone(fed: Federation, actors: list[str]) -> bool:
    """Whether a local user follows one of ACTORS (an accepted follow)."""
    async with fed.db.session() as session:
        found = (
            await session.exec(
                select(FederationFollow.id).where(
                    col(FederationFollow.remote_actor).in_(actors),
                    FederationFollow.direction == OUT,
                    FederationFollow.state == ACCEPTED,
                    FederationFollow.local_actor != fed.instance_uri,
                )
            )
        ).first()
    return found is not None


async def peered_hosts(fed: Federation) -> set[str]:
    """Hosts whose instance actor this instance follows, accepted."""
    async with fed.db.session() as session:
        rows = (
            await session.exec(select(FederationPeer.host).where(FederationPeer.state == ACCEPTED))
        ).all()
    return set(rows)


async def received(fed: Federation, activity: dict[str, Any], sender: str) -> None:
    """A ``Create`` or ``Update`` of a room object: check it and keep it, if relevant."""
    row, _ = parse(activity["object"], sender)
    people = json.loads(row.people)
    relevant = await followed_by_anyone(fed, people) or (
        row.visibility == "open" and row.host in await peered_hosts(fed)
    )
    async with fed.db.session() as session:
        stored = (
            await session.exec(
                select(FederationRemoteRoom).where(FederationRemoteRoom.object_id == row.object_id)
            )
        ).first()
        if stored is not None and stored.state == RoomState.ENDED.value:
            return  # an ended room does not come back (a late Update)
        if not relevant and stored is None:
            logger.info("ignored room %s: nobody here follows its people", row.object_id)
            return
        if stored is None:
            stored = row
        else:
            for name in ("state", "visibility", "people", "card", "refreshed_at"):
                setattr(stored, name, getattr(row, name))
        session.add(stored)
        try:
            await session.commit()
        except IntegrityError:  # the same room stored twice at once: the first one wins
            await session.rollback()
    logger.info("room %s from %s is %s", row.object_id, sender, row.state)


async def received_delete(fed: Federation, object_id: str, sender: str) -> bool:
    """A ``Delete`` of a room object (from its own server); whether one was dropped."""
    if origin_of(object_id) != origin_of(sender):
        return False
    async with fed.db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            sql_delete(FederationRemoteRoom).where(FederationRemoteRoom.object_id == object_id)
        )
        await session.commit()
    return bool(result.rowcount)


async def purge(fed: Federation) -> int:
    """Forget remote rooms nobody refreshed for ``remote_room_ttl_seconds`` (ended
    ones included: they were kept that long so a late ``Update`` cannot revive them)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=fed.settings.remote_room_ttl_seconds)
    async with fed.db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            sql_delete(FederationRemoteRoom).where(FederationRemoteRoom.refreshed_at < cutoff)
        )
        await session.commit()
    return int(result.rowcount or 0)


async def hallway_rooms(fed: Federation, viewer: User | None) -> list[dict[str, Any]]:
    """The remote rooms VIEWER's hallway lists (``salon_hallway_rooms``)."""
    if viewer is not None and viewer.home:
        return []  # a guest from another server sees only the room it was let into
    cutoff = datetime.now(UTC) - timedelta(seconds=fed.settings.remote_room_ttl_seconds)
    async with fed.db.session() as session:
        rows = (
            await session.exec(
                select(FederationRemoteRoom)
                .where(
                    col(FederationRemoteRoom.state).in_(LISTED),
                    FederationRemoteRoom.refreshed_at >= cutoff,
                )
                .order_by(col(FederationRemoteRoom.refreshed_at).desc())
                .limit(MAX_ROOMS)
            )
        ).all()
        if not rows:
            return []
        everyone = {uri for row in rows for uri in json.loads(row.people)}
        # Only the follows of the listed rooms' people, however many follows there are.
        follows = (
            await session.exec(
                select(FederationFollow.local_actor, FederationFollow.remote_actor).where(
                    FederationFollow.direction == OUT,
                    FederationFollow.state == ACCEPTED,
                    FederationFollow.local_actor != fed.instance_uri,
                    col(FederationFollow.remote_actor).in_(everyone),
                )
            )
        ).all()
    mine = fed.user_uri(viewer.username) if viewer is not None else None
    followed = {remote for local, remote in follows if local == mine}
    anyone = {remote for _, remote in follows}
    peers = await peered_hosts(fed)
    allowed: dict[str, bool] = {}
    cards = []
    for row in rows:
        if aware(row.refreshed_at) < cutoff:  # type: ignore[operator]
            continue
        if row.host not in allowed:
            allowed[row.host] = await fed.allowed(row.host)
        if not allowed[row.host]:
            continue
        people = set(json.loads(row.people))
        if row.visibility == "open":
            if not (people & anyone or row.host in peers):
                continue
        elif not people & followed:
            continue
        cards.append({**json.loads(row.card), "followed_people": len(people & followed)})
    return cards
