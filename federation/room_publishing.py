"""Publishing local rooms to other servers (issue 9).

``salon_room_event`` marks a room as changed and wakes one background task per
instance, which compares the room with what was last published
(``federation_published_room``) and sends:

- ``Create`` of the room object when it is scheduled or goes live, to the remote
  followers of its host, of its speakers and of its club (``salon_room_actors``), and,
  for open rooms when ``list_rooms_to_peers`` is on, of the instance actor (peers);
  Salon servers get the room object, servers that are not Salon (told apart by their
  NodeInfo) get a ``Note`` "@host is live: TITLE — URL" instead, once it is live;
- ``Update`` at once when something that matters changed (title, description, stage,
  state), for listener counts at most every ``room_refresh_seconds``, and at least
  every ``room_keepalive_seconds`` while scheduled or live;
- at the end, ``Update`` with ``roomState`` ended, then ``Delete`` of the Note.

The same task forgets remote rooms nobody refreshed for ``remote_room_ttl_seconds``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from salon.core import room_store
from salon.core.errors import NotFound
from salon.core.models import RoomRow, User
from salon.core.rooms import Room, RoomState, Visibility

from . import activities, room_objects
from .activities import AS_CONTEXT, PUBLIC
from .background import WakeableTask
from .follows import follower_inboxes
from .keys import aware
from .models import FederationPublishedRoom
from .service import Federation, host_of, origin_of

logger = logging.getLogger(__name__)

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2."
SOFTWARE_MEMORY_SECONDS = 3600.0  # what a host runs is asked again after this long
SOFTWARE_FAILURE_MEMORY_SECONDS = 300.0  # a host whose NodeInfo failed, asked again sooner
SALON = "salon"
SETTLE_SECONDS = 1.0


async def club_actors(fed: Federation, room: Room) -> list[str]:
    """Actor ids of the plugin actors hosting ROOM (``salon_room_actors``)."""
    names: list[str] = []
    for found in await fed.app.state.plugins.call("salon_room_actors", room=room):
        names.extend(n for n in found or () if isinstance(n, str))
    return [fed.plugin_actor_uri(n) for n in dict.fromkeys(names)]


def _load(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class RoomPublisher(WakeableTask):
    """The background task that tells other servers about this instance's rooms."""

    name = "federation-rooms"

    def __init__(self, fed: Federation):
        super().__init__()
        self.fed = fed
        self.settings = fed.settings
        self._dirty: set[int] = set()
        self._count_due: dict[int, float] = {}  # room -> when its count may be sent
        self._scanned = 0.0
        self._software: dict[str, tuple[bool, float]] = {}  # host -> (is Salon, when)

    def changed(self, room_id: int) -> None:
        """A room changed (``salon_room_event``): look at it soon."""
        self._dirty.add(room_id)
        self.wake()

    async def followed(self) -> None:
        """A remote actor followed someone here: rooms not ended are looked at again,
        so a new follower of their people (or a new peer) hears of them now."""
        async with self.fed.db.session() as session:
            ids = (
                await session.exec(
                    select(FederationPublishedRoom.room_id).where(
                        FederationPublishedRoom.state != RoomState.ENDED.value
                    )
                )
            ).all()
        for room_id in ids:
            self.changed(room_id)

    @property
    def scan_seconds(self) -> float:
        s = self.settings
        return max(0.05, min(30.0, s.room_keepalive_seconds / 2, s.remote_room_ttl_seconds / 2))

    @property
    def retry_seconds(self) -> float:  # type: ignore[override]
        """Until the next keepalive scan or listener count falls due."""
        due = [self._scanned + self.scan_seconds, *self._count_due.values()]
        return min(due) - time.monotonic()

    async def step(self) -> float:
        await self.tick()
        return self.retry_seconds

    async def tick(self) -> None:
        now = time.monotonic()
        for room_id, when in list(self._count_due.items()):
            if when <= now:
                del self._count_due[room_id]
                self._dirty.add(room_id)
        dirty, self._dirty = self._dirty, set()
        for room_id in sorted(dirty):
            try:
                await self.publish(room_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not publish room %s", room_id)
        if now - self._scanned >= self.scan_seconds:
            self._scanned = now
            await self._keepalive()
            from .remote_rooms import purge

            await purge(self.fed)

    async def _keepalive(self) -> None:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.room_keepalive_seconds)
        async with self.fed.db.session() as session:
            due = (
                await session.exec(
                    select(FederationPublishedRoom.room_id).where(
                        FederationPublishedRoom.state != RoomState.ENDED.value,
                        FederationPublishedRoom.last_sent_at <= cutoff,
                    )
                )
            ).all()
        for room_id in due:
            await self.publish(room_id)

    # -- who hears of a room ----------------------------------------------------------

    async def is_salon(self, inbox: str) -> bool:
        """Whether the server of INBOX runs Salon, by its NodeInfo's software name
        (remembered per host); a server whose NodeInfo cannot be read is not Salon."""
        host = host_of(inbox)
        known = self._software.get(host)
        if known is not None:
            memory = SOFTWARE_MEMORY_SECONDS if known[0] else SOFTWARE_FAILURE_MEMORY_SECONDS
            if time.monotonic() - known[1] < memory:
                return known[0]
        salon = False
        try:
            salon = await self._software_name(origin_of(inbox)) == SALON
        except Exception as exc:  # any failure: treat it as a server that is not Salon
            logger.info("no NodeInfo from %s (%s): not a Salon server", host, exc)
        self._software[host] = (salon, time.monotonic())
        return salon

    async def _software_name(self, origin: str) -> str:
        client = self.fed.client
        links = await client.request(
            "GET", f"{origin}/.well-known/nodeinfo", headers={"Accept": "application/json"}
        )
        if links.status != 200:
            return ""
        hrefs = [
            link.get("href")
            for link in (links.json() or {}).get("links", [])
            if isinstance(link, dict) and str(link.get("rel", "")).startswith(NODEINFO_SCHEMA)
        ]
        href = next((h for h in hrefs if isinstance(h, str) and origin_of(h) == origin), None)
        if href is None:
            return ""
        info = await client.request("GET", href, headers={"Accept": "application/json"})
        if info.status != 200:
            return ""
        software = (info.json() or {}).get("software")
        name = software.get("name") if isinstance(software, dict) else None
        return name.lower() if isinstance(name, str) else ""

    async def audience(self, room: Room, host: str, clubs: list[str]) -> tuple[set[str], set[str]]:
        """(Salon inboxes, other inboxes) that hear of ROOM."""
        actors = [host, *clubs]
        users = await self.fed.app.state.rooms.user_rows(m.user_id for m in room.stage())
        actors += [self.fed.user_uri(u.username) for u in users.values() if not u.home]
        inboxes: set[str] = set()
        for actor in dict.fromkeys(actors):
            inboxes.update(await follower_inboxes(self.fed, actor))
        if room.visibility is Visibility.OPEN and self.settings.list_rooms_to_peers:
            inboxes.update(await follower_inboxes(self.fed, self.fed.instance_uri))
        salon, other = set(), set()
        for inbox in inboxes:
            (salon if await self.is_salon(inbox) else other).add(inbox)
        return salon, other

    # -- publishing -------------------------------------------------------------------

    async def _current(self, room_id: int) -> tuple[Room, RoomRow, User | None] | None:
        try:
            async with self.fed.db.session() as session:
                _, room = await room_store.load(session, room_id)
                row = await session.get(RoomRow, room_id)
                creator = await session.get(User, room.creator_id)
        except NotFound:
            return None
        return (room, row, creator) if row is not None else None

    async def _published(self, room_id: int) -> FederationPublishedRoom | None:
        async with self.fed.db.session() as session:
            return (
                await session.exec(
                    select(FederationPublishedRoom).where(
                        FederationPublishedRoom.room_id == room_id
                    )
                )
            ).first()

    async def _save(self, row: FederationPublishedRoom) -> None:
        async with self.fed.db.session() as session:
            session.add(row)
            await session.commit()

    def _activity(self, type_: str, sender: str, obj: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in obj.items() if k != "@context"}
        act = activities.activity(self.fed, type_, sender, body, to=obj["to"], cc=obj["cc"])
        act["@context"] = room_objects.ROOM_CONTEXT
        return act

    async def publish(self, room_id: int) -> None:
        """Bring what other servers know of room ROOM_ID up to date."""
        if not self.settings.publish_rooms:
            return
        current = await self._current(room_id)
        published = await self._published(room_id)
        if current is None:
            return
        room, row, creator = current
        if published is not None and published.state == RoomState.ENDED.value:
            return
        if room.state is RoomState.ENDED:
            if published is not None:
                await self._end(room, row, published)
            return
        if creator is None or creator.deleted_at is not None or creator.home:
            return
        clubs = await club_actors(self.fed, room)
        obj = await room_objects.room_object(self.fed, room, row, clubs)
        sender = obj["attributedTo"]
        salon, other = await self.audience(room, sender, clubs)
        now = datetime.now(UTC)
        fingerprint = room_objects.digest(obj)
        if published is None:
            published = FederationPublishedRoom(
                room_id=room.id, object_id=obj["id"], sender=sender, published_at=now
            )
            await self.fed.outbox.enqueue(self._activity("Create", sender, obj), sender, salon)
            told = salon
            # Looked at again shortly: a plugin may link the room to its club (whose
            # followers then hear of it) right after it opened.
            self._count_due.setdefault(room.id, time.monotonic() + SETTLE_SECONDS)
            logger.info("room %s published (%s) to %d inboxes", room.id, room.state, len(salon))
        else:
            told = set(_load(published.room_inboxes))
            fresh = salon - told
            since = (now - aware(published.last_sent_at)).total_seconds()  # type: ignore[operator]
            refresh = self.settings.room_refresh_seconds
            counted = len(room.members) != published.listener_count
            send = (
                fingerprint != published.digest
                or since >= self.settings.room_keepalive_seconds
                or (counted and since >= refresh)
            )
            if send:
                update = self._activity("Update", sender, obj)
                await self.fed.outbox.enqueue(update, sender, told)
                published.last_sent_at = now
            else:
                if counted:  # a listener count alone waits for the refresh interval
                    self._count_due.setdefault(room.id, time.monotonic() + refresh - since)
                obj["listenerCount"] = published.listener_count  # what they were last told
            if fresh:  # followers since the last time: the room is new to them
                await self.fed.outbox.enqueue(self._activity("Create", sender, obj), sender, fresh)
            told |= fresh
        if room.state is RoomState.LIVE:
            await self._note(published, obj, creator, other)
        published.state = room.state.value
        published.digest = fingerprint
        published.listener_count = obj["listenerCount"]
        published.room_inboxes = json.dumps(sorted(told))
        await self._save(published)

    async def _note(
        self,
        published: FederationPublishedRoom,
        obj: dict[str, Any],
        creator: User,
        other: set[str],
    ) -> None:
        """Tell servers that are not Salon, once the room is live: a ``Note``."""
        noted = set(_load(published.note_inboxes))
        fresh = other - noted
        if not fresh:
            return
        if not published.note_id:
            published.note_id = f"{obj['url']}/notes/{uuid.uuid4()}"
        note = room_objects.note_object(
            obj, published.note_id, f"{creator.username}@{self.fed.host}"
        )
        create = activities.activity(
            self.fed, "Create", obj["attributedTo"], note, to=note["to"], cc=note["cc"]
        )
        await self.fed.outbox.enqueue(create, obj["attributedTo"], fresh)
        published.note_inboxes = json.dumps(sorted(noted | fresh))

    async def _end(self, room: Room, row: RoomRow, published: FederationPublishedRoom) -> None:
        """The room ended: ``Update`` with roomState ended, then ``Delete`` of the Note."""
        clubs = await club_actors(self.fed, room)
        obj = await room_objects.room_object(self.fed, room, row, clubs)
        obj["attributedTo"] = sender = published.sender
        told = _load(published.room_inboxes)
        await self.fed.outbox.enqueue(self._activity("Update", sender, obj), sender, told)
        if published.note_id:
            delete = activities.activity(
                self.fed,
                "Delete",
                sender,
                {"id": published.note_id, "type": "Tombstone"},
                to=[PUBLIC],
            )
            delete["@context"] = AS_CONTEXT
            await self.fed.outbox.enqueue(delete, sender, _load(published.note_inboxes))
        published.state = RoomState.ENDED.value
        published.ended_at = published.last_sent_at = datetime.now(UTC)
        published.digest = room_objects.digest(obj)
        await self._save(published)
        self._count_due.pop(room.id, None)
        logger.info("room %s ended: told %d inboxes", room.id, len(told))
