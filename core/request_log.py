"""Request logs that say who did what and how it ended."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("salon.requests")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            user = scope.get("salon_user")
            who = user.username if user is not None else "anonymous"
            error = scope.get("salon_error")
            logger.info(
                "%s %s %s -> %s%s in %.1f ms",
                who,
                scope["method"],
                scope["path"],
                status,
                f" ({error})" if error else "",
                (time.perf_counter() - started) * 1000,
            )
