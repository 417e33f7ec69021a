"""What this instance knows of remote actors and their keys: fetched through the
guarded client (signed with the instance actor's key), checked and cached."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from . import signatures as sig
from .client import ACCEPT_ACTIVITY, Fetched
from .errors import FetchError, SignatureRejected
from .keys import aware
from .models import FederationRemoteActor, FederationRemoteKey
from .service import Federation, host_of, origin_of

logger = logging.getLogger(__name__)

ACTOR_TYPES = {"Person", "Group", "Service", "Application", "Organization"}
KEY_MEMORY_SECONDS = 60.0  # remote keys are also kept in memory this long
HANDLE = re.compile(r"^@?([^@\s/]+)@([^@\s/]+)$")


def text_of(value: Any, limit: int) -> str:
    """VALUE if it is a string, cut to LIMIT characters; else the empty string."""
    return value[:limit] if isinstance(value, str) else ""


def id_of(value: Any) -> str:
    """The id of an ActivityStreams reference: a string, or an object's ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


async def signed_get(fed: Federation, url: str, accept: str = ACCEPT_ACTIVITY) -> Fetched:
    """GET URL, signed by the instance actor (servers that require signed fetches
    accept it), with the signature scheme remembered for that host."""
    key = await fed.keys.current(fed.instance_uri)
    scheme = await fed.outbox.scheme_for(host_of(url)) if fed.outbox else sig.RFC9421

    def sign(request: Any) -> None:
        message = sig.Message(request.method, str(request.url), request.headers, b"")
        sig.sign(scheme, message, key.key_id, key.private_key)

    return await fed.client.request("GET", url, headers={"Accept": accept}, sign=sign)


async def fetch_json(fed: Federation, url: str) -> dict[str, Any]:
    if not host_of(url):
        raise FetchError(f"not a usable URL: {url!r}")
    if not await fed.allowed(host_of(url)):
        raise FetchError(f"{host_of(url)} is blocked")
    response = await signed_get(fed, url)
    if response.status != 200:
        raise FetchError(f"GET {url} answered {response.status}")
    data = response.json()
    if not isinstance(data, dict):
        raise FetchError(f"GET {url} did not answer a JSON object")
    return data


async def store_actor(
    fed: Federation, doc: dict[str, Any], fetched_from: str
) -> FederationRemoteActor:
    """Check an actor document and remember it (and its key)."""
    uri = id_of(doc)
    if not uri or origin_of(uri) != origin_of(fetched_from):
        raise FetchError(f"the actor document from {fetched_from} claims another origin")
    if doc.get("type") not in ACTOR_TYPES:
        raise FetchError(f"{uri} is not an actor (type {doc.get('type')!r})")
    inbox = id_of(doc.get("inbox"))
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = id_of(endpoints.get("sharedInbox"))
    for url in (inbox, shared):
        if url and origin_of(url) != origin_of(uri):
            raise FetchError(f"{uri} names an inbox on another origin")
    fields = {
        "host": host_of(uri),
        "type": doc["type"],
        "username": text_of(doc.get("preferredUsername"), 200),
        "name": text_of(doc.get("name"), 200),
        "summary": text_of(doc.get("summary"), 5000),
        "url": id_of(doc.get("url")) if not isinstance(doc.get("url"), list) else "",
        "inbox": inbox,
        "shared_inbox": shared,
        "fetched_at": datetime.now(UTC),
    }
    for _ in range(2):  # two requests may store the same actor at once: then update it
        async with fed.db.session() as session:
            row = (
                await session.exec(
                    select(FederationRemoteActor).where(FederationRemoteActor.uri == uri)
                )
            ).first()
            if row is None:
                row = FederationRemoteActor(uri=uri, **fields)
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                continue
            await session.refresh(row)
            break
    for key in _keys_of(doc):
        await store_key(fed, key, uri)
    return row


def _keys_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    keys = doc.get("publicKey")
    if isinstance(keys, dict):
        keys = [keys]
    return [k for k in keys or [] if isinstance(k, dict)]


async def store_key(fed: Federation, key: dict[str, Any], owner: str) -> None:
    key_id, pem = id_of(key), key.get("publicKeyPem")
    if not key_id or not isinstance(pem, str) or id_of(key.get("owner")) not in ("", owner):
        return
    if origin_of(key_id) != origin_of(owner):
        return
    for _ in range(2):  # as above: a concurrent insert of the same key wins, then update
        async with fed.db.session() as session:
            row = (
                await session.exec(
                    select(FederationRemoteKey).where(FederationRemoteKey.key_id == key_id)
                )
            ).first()
            row = row or FederationRemoteKey(key_id=key_id, owner=owner, public_pem=pem)
            row.owner, row.public_pem, row.fetched_at = owner, pem, datetime.now(UTC)
            row.expires_at = None
            session.add(row)
            try:
                await session.commit()
                break
            except IntegrityError:
                await session.rollback()
    fed.key_cache[key_id] = (owner, pem, time.monotonic())


async def get_actor(fed: Federation, uri: str, *, refresh: bool = False) -> FederationRemoteActor:
    """The remote actor URI, from the cache unless REFRESH or stale."""
    if not refresh:
        async with fed.db.session() as session:
            row = (
                await session.exec(
                    select(FederationRemoteActor).where(FederationRemoteActor.uri == uri)
                )
            ).first()
        max_age = timedelta(seconds=fed.settings.key_cache_seconds)
        if row is not None and aware(row.fetched_at) > datetime.now(UTC) - max_age:  # type: ignore[operator]
            return row
    return await store_actor(fed, await fetch_json(fed, uri), uri)


async def public_key(fed: Federation, key_id: str, *, refresh: bool = False) -> tuple[str, str]:
    """(owner, PEM) of the key KEY_ID: a local key, a cached one, or fetched. The owner
    must be on the key id's origin."""
    if fed.is_local(key_id):
        found = await fed.keys.public_key(key_id)
        if found is None:
            raise SignatureRejected(f"no current local key {key_id}")
        return found
    if not refresh:
        hit = fed.key_cache.get(key_id)
        if hit is not None and time.monotonic() - hit[2] < KEY_MEMORY_SECONDS:
            return hit[0], hit[1]
        async with fed.db.session() as session:
            row = (
                await session.exec(
                    select(FederationRemoteKey).where(FederationRemoteKey.key_id == key_id)
                )
            ).first()
        if row is not None:
            fed.key_cache[key_id] = (row.owner, row.public_pem, time.monotonic())
            return row.owner, row.public_pem
    try:
        doc = await fetch_json(fed, key_id.split("#", 1)[0])
    except FetchError as exc:
        raise SignatureRejected(f"cannot fetch the key {key_id}: {exc.message}") from None
    if isinstance(doc.get("publicKeyPem"), str):  # a key document naming its owner
        owner = id_of(doc.get("owner"))
        if not owner or origin_of(owner) != origin_of(key_id):
            raise SignatureRejected(f"the key {key_id} has no owner on its own origin")
        await store_key(fed, doc, owner)
    else:
        try:
            await store_actor(fed, doc, key_id)
        except FetchError as exc:
            raise SignatureRejected(f"the key {key_id}: {exc.message}") from None
    async with fed.db.session() as session:
        row = (
            await session.exec(
                select(FederationRemoteKey).where(FederationRemoteKey.key_id == key_id)
            )
        ).first()
    if row is None:
        raise SignatureRejected(f"{key_id} is not among the keys its owner publishes")
    fed.key_cache[key_id] = (row.owner, row.public_pem, time.monotonic())
    return row.owner, row.public_pem


async def webfinger(fed: Federation, handle: str) -> str:
    """The actor id of ``@name@host`` through the host's WebFinger."""
    match = HANDLE.match(handle.strip())
    if match is None:
        raise FetchError(f"{handle!r} is not a handle like @name@host")
    name, host = match.groups()
    resource = f"acct:{name}@{host}"
    scheme = "http" if host.split(":")[0] in ("127.0.0.1", "localhost") else "https"
    url = f"{scheme}://{host}/.well-known/webfinger?resource={quote(resource)}"
    if not await fed.allowed(host.lower()):
        raise FetchError(f"{host} is blocked")
    response = await fed.client.request("GET", url, headers={"Accept": "application/jrd+json"})
    if response.status != 200:
        raise FetchError(f"WebFinger at {host} answered {response.status}")
    data = response.json()
    for link in data.get("links", []) if isinstance(data, dict) else []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and link.get("type", "").split(";")[0].strip()
            in ("application/activity+json", "application/ld+json")
            and isinstance(link.get("href"), str)
        ):
            return link["href"]
    raise FetchError(f"WebFinger at {host} names no ActivityPub actor for {resource}")


async def resolve(fed: Federation, query: str) -> FederationRemoteActor:
    """A remote actor from ``@name@host`` or a profile URL."""
    query = query.strip()
    uri = query if query.startswith(("http://", "https://")) else await webfinger(fed, query)
    return await get_actor(fed, uri, refresh=True)


def handle_of(actor: FederationRemoteActor) -> str:
    return f"{actor.username or 'unknown'}@{actor.host}"
