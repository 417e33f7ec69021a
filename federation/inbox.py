"""Incoming activities: verify, store, answer 202, then process from storage.

The HTTP side only validates: body size, blocked instances, the signature (who signed,
with a key its owner publishes on the same origin, fresh, body digest, no replay),
then stores the activity (idempotent by its id) and answers 202. A processor task
applies stored activities one by one, dispatching on their type; anything stored but
not processed when the server stops is processed at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from starlette.requests import Request

from . import follows, peers, remote_rooms, room_objects
from . import remote as remote_actors
from . import signatures as sig
from .background import WakeableTask
from .errors import BadActivity, FederationError, FetchError, InstanceBlocked, SignatureRejected
from .keys import aware
from .models import FederationInboxItem, FederationSeenSignature
from .outbox import backoff
from .service import Federation, host_of, origin_of

logger = logging.getLogger(__name__)

RECEIVED, PROCESSED, FAILED = "received", "processed", "failed"
PROCESS_ATTEMPTS = 5


class PayloadTooLarge(FederationError):
    status = 413
    code = "payload_too_large"


async def read_body(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(f"the body is over the limit of {cap} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"the body is over the limit of {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def message_of(fed: Federation, request: Request, body: bytes) -> sig.Message:
    """The request as its sender addressed it: this instance's public URL, not
    whatever a proxy in front made of it."""
    url = fed.base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return sig.Message.of(request.method, url, request.headers.items(), body)


async def verify_request(fed: Federation, message: sig.Message) -> str:
    """Check MESSAGE's signature; return the key owner's actor id."""
    claim = sig.parse(message)
    if claim.scheme == sig.RFC9421 and not fed.settings.accept_rfc9421:
        raise SignatureRejected("this instance takes draft-cavage signatures only")
    key_host = host_of(claim.key_id)
    if not claim.key_id.startswith(("https://", "http://")) or not key_host:
        raise SignatureRejected("the key id must be a URL")
    if not await fed.allowed(key_host):
        raise InstanceBlocked(f"{key_host} is blocked here")
    max_age = fed.settings.signature_max_age_seconds
    owner, pem = await remote_actors.public_key(fed, claim.key_id)
    try:
        sig.verify(message, claim, sig.load_public_key(pem), max_age=max_age)
    except SignatureRejected:
        # The key may have been rotated since it was cached: fetch it again, once.
        if fed.is_local(claim.key_id):
            raise
        owner, pem = await remote_actors.public_key(fed, claim.key_id, refresh=True)
        sig.verify(message, claim, sig.load_public_key(pem), max_age=max_age)
    if origin_of(owner) != origin_of(claim.key_id):
        raise SignatureRejected("the key's owner is not on the key's origin")
    return owner


def _seen(claim: sig.Claim) -> FederationSeenSignature:
    return FederationSeenSignature(digest=claim.fingerprint, seen_at=datetime.now(UTC))


async def purge_seen(fed: Federation) -> None:
    """Forget signatures older than twice the freshness window (dates may be in the
    future by as much as in the past): they are refused as stale anyway."""
    cutoff = datetime.now(UTC) - timedelta(seconds=2 * fed.settings.signature_max_age_seconds)
    async with fed.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            sql_delete(FederationSeenSignature).where(FederationSeenSignature.seen_at < cutoff)
        )
        await session.commit()


async def receive(fed: Federation, request: Request) -> str:
    """Validate and store one POST to an inbox; returns the stored activity id."""
    body = await read_body(request, fed.settings.max_inbox_bytes)
    message = message_of(fed, request, body)
    signer = await verify_request(fed, message)
    claim = sig.parse(message)
    try:
        activity = json.loads(body)
    except (ValueError, RecursionError):
        raise BadActivity("the body is not valid JSON") from None
    if not isinstance(activity, dict):
        raise BadActivity("the body must be a JSON object")
    actor = activity.get("actor")
    actor = actor.get("id") if isinstance(actor, dict) else actor
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not activity_id or len(activity_id) > 600:
        raise BadActivity("the activity needs an id")
    if not isinstance(activity.get("type"), str):
        raise BadActivity("the activity needs a type")
    if actor != signer:
        raise SignatureRejected(f"signed by {signer} but claims to be from {actor!r}")
    if origin_of(activity_id) != origin_of(signer):
        raise BadActivity("the activity id is not on its actor's origin")
    # The signer's host was checked against blocks already: it is the key id's host.
    # One transaction records the signature (a second use is a replay) and stores the
    # activity (idempotent by its id).
    async with fed.db.session() as session:
        session.add(_seen(claim))
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            raise SignatureRejected("this signature was seen before: a replay") from None
        session.add(
            FederationInboxItem(
                activity_id=activity_id, sender=signer, host=host_of(signer), body=body.decode()
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            async with fed.db.session() as again:  # still, that signature is now spent
                again.add(_seen(claim))
                with contextlib.suppress(IntegrityError):
                    await again.commit()
            logger.info("%s was received before; ignored", activity_id)
            return activity_id
    fed.inbox.wake()
    return activity_id


class InboxProcessor(WakeableTask):
    """Applies stored activities, oldest first, each once."""

    name = "federation-inbox"

    def __init__(self, fed: Federation):
        super().__init__()
        self.fed = fed
        self._purged = 0.0

    async def step(self) -> float:
        while await self.process_next():
            pass  # drain what is due, one stored activity at a time
        wait = await self._until_next_try(self.retry_seconds)
        if time.monotonic() - self._purged > 60:
            await purge_seen(self.fed)
            self._purged = time.monotonic()
        return wait

    async def _until_next_try(self, cap: float) -> float:
        async with self.fed.db.session() as session:
            due = (
                await session.exec(
                    select(FederationInboxItem.next_try_at)
                    .where(FederationInboxItem.state == RECEIVED)
                    .order_by(FederationInboxItem.next_try_at)
                    .limit(1)
                )
            ).first()
        if due is None:
            return cap
        return max(0.0, min(cap, (aware(due) - datetime.now(UTC)).total_seconds()))  # type: ignore[operator]

    async def process_next(self) -> bool:
        now = datetime.now(UTC)
        async with self.fed.db.session() as session:
            item = (
                await session.exec(
                    select(FederationInboxItem)
                    .where(
                        FederationInboxItem.state == RECEIVED,
                        FederationInboxItem.next_try_at <= now,
                    )
                    .order_by(FederationInboxItem.id)
                    .limit(1)
                )
            ).first()
        if item is None:
            return False
        state, error = PROCESSED, ""
        next_try: datetime | None = None
        try:
            await self.apply(json.loads(item.body), item.sender)
        except asyncio.CancelledError:
            raise
        except FetchError as exc:
            # A remote server this needs did not answer: try again later, a few times.
            state, error = FAILED, exc.message
            if item.attempts + 1 < PROCESS_ATTEMPTS:
                settings = self.fed.settings
                delay = backoff(
                    item.attempts + 1,
                    settings.retry_base_seconds,
                    settings.retry_jitter,
                    settings.retry_max_delay_seconds,
                )
                state, next_try = RECEIVED, now + timedelta(seconds=delay)
            logger.warning("applying %s needs %s; %s", item.activity_id, exc.message, state)
        except FederationError as exc:
            state, error = FAILED, exc.message
            logger.warning("could not apply %s: %s", item.activity_id, exc.message)
        except Exception as exc:
            state, error = FAILED, repr(exc)
            logger.exception("applying %s failed", item.activity_id)
        async with self.fed.db.session() as session:
            row = await session.get(FederationInboxItem, item.id)
            row.state, row.error = state, error[:500]  # type: ignore[union-attr]
            row.attempts += 1  # type: ignore[union-attr]
            if next_try is not None:
                row.next_try_at = next_try  # type: ignore[union-attr]
            else:
                row.processed_at = datetime.now(UTC)  # type: ignore[union-attr]
            session.add(row)
            await session.commit()
        return True

    async def apply(self, activity: dict[str, Any], sender: str) -> None:
        """Apply one verified activity, then let plugins see it."""
        fed = self.fed
        obj = activity.get("object")
        match activity.get("type"):
            case "Follow":
                await follows.received_follow(fed, activity, sender)
            case "Accept":
                await follows.received_accept(fed, activity, sender)
                await peers.answered(fed, activity, sender)
            case "Reject":
                await follows.received_reject(fed, activity, sender)
                await peers.answered(fed, activity, sender)
            case "Create" | "Update" if room_objects.is_room(obj):
                await remote_rooms.received(fed, activity, sender)
            case "Undo" if isinstance(obj, dict) and obj.get("type") == "Follow":
                if obj.get("actor") not in (None, sender):
                    raise BadActivity("an actor can only undo its own follow")
                await follows.received_undo_follow(fed, obj, sender)
            case "Update" if isinstance(obj, dict) and obj.get("id") == sender:
                await remote_actors.store_actor(fed, obj, sender)
                logger.info("%s updated their profile", sender)
            case "Delete" if (obj.get("id") if isinstance(obj, dict) else obj) == sender:
                await follows.forget_actor(fed, sender)
            case "Delete":  # of something else: a room this instance lists, maybe
                gone = obj.get("id") if isinstance(obj, dict) else obj
                if isinstance(gone, str) and await remote_rooms.received_delete(fed, gone, sender):
                    logger.info("%s deleted the room %s", sender, gone)
            case _:
                logger.debug("%s from %s is for plugins only", activity.get("type"), sender)
        await fed.app.state.plugins.call(
            "salon_activity_received", activity=activity, sender=sender
        )
