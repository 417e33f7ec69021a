"""Helpers every JSON handler uses: declaring an endpoint, parsing its body, answering.

An endpoint is declared with :func:`endpoint`, which makes the Starlette route and
records its request and response models, so ``/api/openapi.json`` describes every
endpoint from the same declarations that serve it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import BadRequest, NotFound, PayloadTooLarge, ValidationFailed
from .schemas import MAX_ID

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class EndpointDoc:
    """What the OpenAPI document says about one endpoint."""

    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    tags: list[str] = field(default_factory=list)
    query: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    tag: str = "",
    query: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Callable[[Handler], Route]:
    """Turn a handler into a documented route. MEDIA_TYPE is what a success answers
    with when it is not JSON (e.g. ``text/calendar``)."""

    def wrap(handler: Handler) -> Route:
        route = Route(path, handler, methods=[method], name=handler.__name__)
        route.openapi = EndpointDoc(  # type: ignore[attr-defined]
            method=method.lower(),
            path=path,
            summary=summary,
            body=body,
            response=response,
            status=status,
            auth=auth,
            tags=[tag] if tag else [],
            query=query or {},
            media_type=media_type,
        )
        return route

    return wrap


async def read_json(request: Request, model: type[M]) -> M:
    """Parse the request's JSON body into MODEL, or raise a 4xx naming the problem."""
    cap: int = request.app.state.settings.instance.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(f"the body is over the limit of {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"the body is over the limit of {cap} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}", code="malformed_json") from None
        except RecursionError:
            raise BadRequest("the JSON is nested too deeply", code="malformed_json") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        message = f"{where}: {first['msg']}" if where else first["msg"]
        raise ValidationFailed(message, field=where) from None


def path_int(request: Request, name: str) -> int:
    """An integer id from the path; a malformed one is an unknown resource (404)."""
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 18 or int(raw) > MAX_ID:
        raise NotFound(f"{name} must be a positive integer id, got {raw!r}", field=name)
    return int(raw)


def ok(data: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> JSONResponse:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return JSONResponse(data, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)
