"""``create_app(settings)``: wiring only. Routes, middleware, lifespan, plugins."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from types import ModuleType

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from . import db as database
from .events import EventHub
from .http_errors import JSONCSRFMiddleware, exception_handlers
from .permissions import Permissions
from .plugins import PluginManager
from .presence import Presence
from .request_log import RequestLogMiddleware
from .room_service import RoomService
from .routes import accounts, pages, rooms, system, users
from .settings import Settings, resolve_secret

logger = logging.getLogger(__name__)

SESSION_COOKIE = "salon_session"
CSRF_COOKIE = "salon_csrf"
CSRF_HEADER = "x-csrf-token"


def create_app(
    settings: Settings,
    *,
    extra_plugins: Iterable[tuple[str, ModuleType | object]] = (),
    migrate: bool = True,
) -> Starlette:
    """Build the instance. Raises ConfigError when settings or plugins are invalid."""
    plugins = PluginManager()
    plugins.load(settings, extra_plugins)
    secret = resolve_secret(settings.instance.secret_key, "instance.secret_key", create=True)

    db = database.Database(settings.instance.database_url)
    hub = EventHub()
    permissions = Permissions(plugins, db)
    room_service = RoomService(db, hub, plugins, permissions)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate:
            await run_in_threadpool(
                database.upgrade, settings.instance.database_url, plugins=plugins.migrations()
            )
        app.state.plugin_settings = {
            name: info.settings for name, info in plugins.plugins.items() if info.settings
        }
        failed = await plugins.startup(app)
        for name in failed:
            app.state.plugin_settings.pop(name, None)
        # Asked after start-up, so a transport whose plugin failed to start is not used.
        room_service.transport = plugins.hook.salon_audio_transport(settings=settings)
        await app.state.presence.expect_returns()
        running = [n for n, i in plugins.plugins.items() if i.state == "running"]
        logger.info(
            "Salon %r serving %s; plugins running: %s%s",
            settings.instance.name,
            settings.instance.base_url,
            ", ".join(running) or "none",
            f"; failed: {', '.join(failed)}" if failed else "",
        )
        try:
            yield
        finally:
            await app.state.presence.stop()
            await plugins.shutdown(app)
            await db.dispose()

    web_dirs = dict(plugins.results_by_plugin("salon_web_dirs"))
    plugin_static = [
        Mount(f"/static/plugins/{name}", app=StaticFiles(directory=dirs["static"]))
        for name, dirs in web_dirs.items()
        if dirs.get("static")
    ]
    routes = [
        *system.routes,
        *accounts.routes,
        *users.routes,
        *rooms.routes,
        *plugins.collect_routes(),
        *plugin_static,
        *pages.routes,
    ]
    secure = settings.instance.cookie_secure
    middleware = [
        Middleware(RequestLogMiddleware),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            same_site="lax",
            https_only=secure,
            max_age=30 * 24 * 3600,
        ),
        Middleware(
            JSONCSRFMiddleware,
            secret=secret,
            cookie_name=CSRF_COOKIE,
            header_name=CSRF_HEADER,
            cookie_secure=secure,
            cookie_samesite="lax",
            sensitive_cookies={SESSION_COOKIE},
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = pages.make_templates(
        {name: dirs["templates"] for name, dirs in web_dirs.items() if dirs.get("templates")}
    )
    app.state.plugins = plugins
    app.state.db = db
    app.state.hub = hub
    app.state.permissions = permissions
    app.state.rooms = room_service
    app.state.presence = Presence(room_service, settings.instance.leave_grace_seconds)
    return app
