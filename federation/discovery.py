"""The public federation endpoints: WebFinger, host-meta, NodeInfo, actor documents
(content-negotiated with the profile page), inboxes and collections."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

from sqlalchemy import func
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from salon.core import __version__
from salon.core.models import Follow, User
from salon.core.routes.pages import profile_page

from . import activities, follows
from .client import ACTIVITY_JSON
from .errors import FederationError
from .inbox import receive
from .service import Federation, LocalActor

logger = logging.getLogger(__name__)

JRD = "application/jrd+json"
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def fed_of(request: Request) -> Federation:
    return request.app.state.federation


def activity_response(data: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, media_type=ACTIVITY_JSON)


def error(exc: FederationError) -> JSONResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "field": None}}
    return JSONResponse(body, status_code=exc.status)


def not_found(message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "not_found", "message": message, "field": None}}, status_code=404
    )


def wants_activity_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/activity+json" in accept or "application/ld+json" in accept


# -- discovery -------------------------------------------------------------------------


async def webfinger(request: Request) -> Response:
    fed = fed_of(request)
    resource = request.query_params.get("resource", "")
    if not resource:
        return JSONResponse(
            {"error": {"code": "invalid", "message": "resource is required", "field": "resource"}},
            status_code=400,
        )
    actor: LocalActor | None = None
    if resource.startswith("acct:"):
        name, _, host = unquote(resource[5:]).lstrip("@").rpartition("@")
        if host.lower() == fed.host and name:
            actor = await fed.actor_by_name(name)
    elif resource.startswith(fed.base_url + "/"):
        actor = await fed.local_actor(resource)
    if actor is None:
        return not_found(f"no actor {resource!r} here")
    subject = f"acct:{actor.name}@{fed.host}"
    profile = actor.uri if actor.kind != "instance" else fed.base_url
    data = {
        "subject": subject,
        "aliases": [actor.uri],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor.uri},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
        ],
    }
    return JSONResponse(data, media_type=JRD, headers={"Access-Control-Allow-Origin": "*"})


async def host_meta(request: Request) -> Response:
    base = fed_of(request).base_url
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    base = fed_of(request).base_url
    return JSONResponse({"links": [{"rel": NODEINFO_21, "href": f"{base}/nodeinfo/2.1"}]})


async def nodeinfo(request: Request) -> Response:
    fed = fed_of(request)
    settings = request.app.state.settings
    async with fed.db.session() as session:
        users = (
            await session.exec(
                select(func.count()).select_from(User).where(User.deleted_at.is_(None))  # type: ignore[union-attr]
            )
        ).one()
    data = {
        "version": "2.1",
        "software": {"name": "salon", "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": settings.instance.registration == "open",
        "usage": {"users": {"total": users}, "localPosts": 0},
        "metadata": {"nodeName": settings.instance.name},
    }
    return JSONResponse(data, media_type=f'application/json; profile="{NODEINFO_21}#"')


# -- actors --------------------------------------------------------------------------


async def _actor_or_404(request: Request) -> LocalActor | None:
    fed = fed_of(request)
    path = request.url.path.rstrip("/")
    for suffix in ("/inbox", "/outbox", "/followers", "/following"):
        path = path.removesuffix(suffix)
    return await fed.local_actor(fed.base_url + path)


async def user_actor(request: Request) -> Response:
    """``/users/{username}``: the actor document for ActivityPub clients, the profile
    page for everyone else."""
    if not wants_activity_json(request):
        return await profile_page(request)
    actor = await _actor_or_404(request)
    if actor is None:
        fed = fed_of(request)
        gone = await fed.user_by_name(request.path_params["username"])
        if gone is not None and gone.deleted_at is not None:  # a deleted account
            uri = fed.user_uri(gone.username)
            return activity_response(activities.tombstone(uri, gone.deleted_at), 410)
        return not_found("no such actor")
    return activity_response(await activities.actor_document(fed_of(request), actor))


async def actor(request: Request) -> Response:
    """``/actors/{name}`` (plugins' actors) and ``/actor`` (the instance)."""
    found = await _actor_or_404(request)
    if found is None:
        return not_found("no such actor")
    return activity_response(await activities.actor_document(fed_of(request), found))


async def inbox(request: Request) -> Response:
    """Shared and per-actor inboxes: verify, store, 202."""
    fed = fed_of(request)
    if request.url.path != "/inbox" and await _actor_or_404(request) is None:
        return not_found("no such actor")
    try:
        await receive(fed, request)
    except FederationError as exc:
        logger.info("refused a POST to %s: %s", request.url.path, exc.message)
        return error(exc)
    return Response(status_code=202)


async def outbox(request: Request) -> Response:
    found = await _actor_or_404(request)
    if found is None:
        return not_found("no such actor")
    return activity_response(
        {
            "@context": activities.AS_CONTEXT,
            "id": f"{found.uri}/outbox",
            "type": "OrderedCollection",
            "totalItems": 0,
            "orderedItems": [],
        }
    )


async def collection(request: Request) -> Response:
    """``.../followers`` and ``.../following``: local and remote actors."""
    fed = fed_of(request)
    found = await _actor_or_404(request)
    if found is None:
        return not_found("no such actor")
    relation = "followers" if request.url.path.rstrip("/").endswith("/followers") else "following"
    items = [e["id"] for e in await follows.follow_list(fed, found.uri, relation)]
    if found.user is not None:
        mine = Follow.followee_id if relation == "followers" else Follow.follower_id
        other = Follow.follower_id if relation == "followers" else Follow.followee_id
        async with fed.db.session() as session:
            names = (
                await session.exec(
                    select(User.username)
                    .join(Follow, other == User.id)
                    .where(mine == found.user.id)
                )
            ).all()
        items = [fed.user_uri(n) for n in names] + items
    return activity_response(
        {
            "@context": activities.AS_CONTEXT,
            "id": f"{found.uri}/{relation}",
            "type": "OrderedCollection",
            "totalItems": len(items),
            "orderedItems": items,
        }
    )


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/2.1", nodeinfo),
    Route("/inbox", inbox, methods=["POST"]),
    Route("/actor", actor),
    Route("/actor/inbox", inbox, methods=["POST"]),
    Route("/actor/outbox", outbox),
    Route("/users/{username}", user_actor),
    Route("/users/{username}/inbox", inbox, methods=["POST"]),
    Route("/users/{username}/outbox", outbox),
    Route("/users/{username}/followers", collection),
    Route("/users/{username}/following", collection),
    Route("/actors/{name}", actor),
    Route("/actors/{name}/inbox", inbox, methods=["POST"]),
    Route("/actors/{name}/outbox", outbox),
    Route("/actors/{name}/followers", collection),
    Route("/actors/{name}/following", collection),
]
