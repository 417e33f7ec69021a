"""Federation's JSON API for the web client: look up remote people, follow them,
answer follow requests, and the search page."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from salon.core.api import endpoint, no_content, ok, path_int, read_json
from salon.core.auth import require_user
from salon.core.errors import BadRequest, NotFound, ValidationFailed
from salon.core.routes.pages import render
from salon.core.schemas import Body, EmptyBody

from . import follows
from . import remote as remote_actors
from .errors import FederationError
from .models import FederationRemoteActor
from .service import Federation

TAG = "federation"


class RemoteProfile(BaseModel):
    id: str = Field(description="the actor id (a URL)")
    handle: str = Field(description="name@host")
    type: str
    name: str
    summary: str = Field(description="the remote bio, HTML as the remote sent it")
    url: str
    follow_state: str | None = Field(description="pending, accepted, or null: not followed")


class ActorBody(Body):
    actor: str = Field(min_length=8, max_length=600, description="the remote actor's id (URL)")


class FollowState(BaseModel):
    state: str


class FollowRequest(BaseModel):
    id: int
    actor: dict[str, str]


class FollowRequests(BaseModel):
    requests: list[FollowRequest]


class FederationPrefs(Body):
    manually_approves_followers: bool


def fed_of(request: Request) -> Federation:
    return request.app.state.federation


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValidationFailed("must be an http(s) URL", field="actor")
    return value


async def _profile(
    fed: Federation, request: Request, actor: FederationRemoteActor
) -> RemoteProfile:
    viewer = await require_user(request)
    state = await follows.state_with(fed, viewer, actor.uri)
    return RemoteProfile(
        id=actor.uri,
        handle=remote_actors.handle_of(actor),
        type=actor.type,
        name=actor.name or actor.username,
        summary=actor.summary,
        url=actor.url or actor.uri,
        follow_state=state,
    )


@endpoint(
    "GET",
    "/api/federation/lookup",
    summary="Find someone on another instance by @name@host or profile URL",
    response=RemoteProfile,
    tag=TAG,
    query={"q": "@name@host or a profile URL"},
)
async def lookup(request: Request) -> Response:
    fed = fed_of(request)
    await require_user(request)  # only people with an account make the server fetch
    query = request.query_params.get("q", "").strip()
    if not query or len(query) > 600 or "\x00" in query:
        raise ValidationFailed("give @name@host or a profile URL", field="q")
    try:
        actor = await remote_actors.resolve(fed, query)
    except FederationError as exc:
        raise NotFound(f"could not find {query}: {exc.message}", field="q") from None
    return ok(await _profile(fed, request, actor))


@endpoint(
    "POST",
    "/api/federation/follows",
    summary="Follow someone on another instance",
    body=ActorBody,
    response=FollowState,
    status=202,
    tag=TAG,
)
async def follow(request: Request) -> Response:
    fed = fed_of(request)
    user = await require_user(request)
    body = await read_json(request, ActorBody)
    try:
        row = await follows.follow_remote(fed, user, _url(body.actor))
    except FederationError as exc:
        raise BadRequest(exc.message, field="actor", code=exc.code) from None
    return ok(FollowState(state=row.state), status=202)


@endpoint(
    "POST",
    "/api/federation/unfollow",
    summary="Stop following someone on another instance",
    body=ActorBody,
    status=204,
    tag=TAG,
)
async def unfollow(request: Request) -> Response:
    fed = fed_of(request)
    user = await require_user(request)
    body = await read_json(request, ActorBody)
    try:
        await follows.unfollow_remote(fed, user, _url(body.actor))
    except FederationError as exc:
        raise BadRequest(exc.message, field="actor", code=exc.code) from None
    return no_content()


@endpoint(
    "GET",
    "/api/federation/requests",
    summary="Pending follow requests from other instances",
    response=FollowRequests,
    tag=TAG,
)
async def requests(request: Request) -> Response:
    user = await require_user(request)
    found = await follows.requests_for(fed_of(request), user)
    return ok(FollowRequests(requests=[FollowRequest(**r) for r in found]))


async def _answer(request: Request, *, accept: bool) -> Response:
    user = await require_user(request)
    await read_json(request, EmptyBody)
    request_id = path_int(request, "request_id")
    if not await follows.answer_request(fed_of(request), user, request_id, accept=accept):
        raise NotFound("no such pending follow request", field="request_id")
    return no_content()


@endpoint(
    "POST",
    "/api/federation/requests/{request_id}/accept",
    summary="Accept a follow request",
    body=EmptyBody,
    status=204,
    tag=TAG,
)
async def accept_request(request: Request) -> Response:
    return await _answer(request, accept=True)


@endpoint(
    "POST",
    "/api/federation/requests/{request_id}/reject",
    summary="Reject a follow request",
    body=EmptyBody,
    status=204,
    tag=TAG,
)
async def reject_request(request: Request) -> Response:
    return await _answer(request, accept=False)


@endpoint(
    "GET",
    "/api/federation/preferences",
    summary="My federation preferences",
    response=FederationPrefs,
    tag=TAG,
)
async def get_prefs(request: Request) -> Response:
    user = await require_user(request)
    value = await follows.manually_approves(fed_of(request), user.id)  # type: ignore[arg-type]
    return ok(FederationPrefs(manually_approves_followers=value))


@endpoint(
    "PATCH",
    "/api/federation/preferences",
    summary="Approve remote followers by hand, or not",
    body=FederationPrefs,
    response=FederationPrefs,
    tag=TAG,
)
async def set_prefs(request: Request) -> Response:
    user = await require_user(request)
    body = await read_json(request, FederationPrefs)
    fed = fed_of(request)
    await follows.set_manually_approves(fed, user.id, body.manually_approves_followers)  # type: ignore[arg-type]
    return ok(body)


async def search_page(request: Request) -> Response:
    """``/federation/search?q=@name@host``: a remote profile with a follow button."""
    return await render(
        request,
        "federation/search.html",
        page="federation_search",
        query=request.query_params.get("q", ""),
    )


routes = [
    lookup,
    follow,
    unfollow,
    requests,
    accept_request,
    reject_request,
    get_prefs,
    set_prefs,
    Route("/federation/search", search_page),
]
