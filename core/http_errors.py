"""Mapping errors to HTTP answers, in one place: every 4xx has a JSON body
``{"error": {"code", "message", "field"}}``; anything unexpected is logged and
answered as a JSON 500 without internals."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette_csrf import CSRFMiddleware

from .errors import SalonError

logger = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status)


async def salon_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SalonError)
    request.scope["salon_error"] = exc.code
    return JSONResponse(exc.to_json(), status_code=exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and not request.url.path.startswith(("/api/", "/healthz")):
        from .routes.pages import not_found_page

        return await not_found_page(request)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if exc.status_code != 404 else f"no such endpoint: {request.url.path}"
    return error_response(exc.status_code, code, message)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "something went wrong on the server; see its log")


def exception_handlers() -> dict[Any, Any]:
    return {SalonError: salon_error, HTTPException: http_error, Exception: unexpected_error}


class JSONCSRFMiddleware(CSRFMiddleware):
    """CSRF double-submit check whose refusal is a JSON 403 like every other error.

    Sockets are left to the room socket's own Origin check (a WebSocket handshake
    carries no custom header to double-submit)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _get_error_response(self, request: Request) -> Response:
        return error_response(
            403,
            "csrf_failed",
            "missing or wrong X-CSRF-Token header: send the salon_csrf cookie's value",
            "X-CSRF-Token",
        )
