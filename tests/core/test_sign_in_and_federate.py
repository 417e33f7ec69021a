"""Two questions the core asks plugins: may this account sign in (``user.sign_in``), and
may Salon federate with this host (``instance.federate``); and the hook that tells
plugins an instance was blocked."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from salon.core.hookspecs import hookimpl
from salon.core.models import User
from salon.core.plugins import PluginManager
from salon.core.settings import load_settings
from tests.helpers import PASSWORD, start_instance, write_config


class Suspender:
    """A plugin that refuses sign-in to the usernames in ``suspended``."""

    def __init__(self) -> None:
        self.suspended: set[str] = set()
        self.blocked: list[tuple[str, Any]] = []

    @hookimpl
    def salon_permission(self, actor: Any, action: str, resource: Any) -> bool | None:
        if action == "user.sign_in" and resource.username in self.suspended:
            return False
        if action == "instance.federate" and resource == "blocked.test":
            return False
        return None

    @hookimpl
    async def salon_instance_blocked(self, domain: str, actor: Any) -> str:
        self.blocked.append((domain, actor))
        return "severed"


def test_sign_in_refused_ends_sessions_tokens_and_logins(tmp_path: Path, sqlite_url: str) -> None:
    plugin = Suspender()
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("suspender", plugin)])
    try:
        ann = server.signup("ann")
        with server.client() as browser:
            r = browser.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
            assert r.status_code == 200
            assert browser.get("/api/me").status_code == 200
            assert ann.http.get("/api/me").status_code == 200

            plugin.suspended.add("ann")
            r = ann.http.get("/api/me")
            assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_refused"
            assert browser.get("/api/me").status_code == 401  # the session no longer counts
            with httpx.Client(base_url=server.url) as fresh:
                r = fresh.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
                assert r.status_code == 403 and r.json()["error"]["code"] == "sign_in_refused"
                wrong = fresh.post(
                    "/api/auth/login", json={"username": "ann", "password": "x" * 12}
                )
                assert wrong.status_code == 401  # a wrong password says nothing more

            plugin.suspended.clear()
            assert ann.http.get("/api/me").status_code == 200  # the token was never deleted
    finally:
        server.stop()


def test_instance_federate_defaults_to_allowed(tmp_path: Path, sqlite_url: str) -> None:
    server = start_instance(tmp_path, sqlite_url, extra_plugins=[("suspender", Suspender())])
    try:
        permissions = server.app.state.permissions

        async def ask(host: str) -> bool:
            return await permissions.allowed(None, "instance.federate", host)

        assert asyncio.run(ask("friendly.test")) is True
        assert asyncio.run(ask("blocked.test")) is False
    finally:
        server.stop()


def test_salon_instance_blocked(tmp_path: Path, sqlite_url: str) -> None:
    """Whoever blocks an instance (moderation, an admin command) calls this; plugins that
    federate cut their ties. Called here the way they call it."""
    plugin = Suspender()
    manager = PluginManager()
    manager.load(load_settings(write_config(tmp_path, sqlite_url)), [("suspender", plugin)])
    admin = User(username="root", display_name="Root", password_hash="x", is_admin=True)
    results = asyncio.run(manager.call("salon_instance_blocked", domain="bad.test", actor=admin))
    assert results == ["severed"]
    assert plugin.blocked == [("bad.test", admin)]
