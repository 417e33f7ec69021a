"""Clubs fixtures: Salon instances with the clubs plugin on, and a content rule that
refuses any text containing "forbidden" (so ``salon_check_content`` is exercised)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from salon.core.auth import hash_password, issue_credential
from salon.core.db import make_sync_engine
from salon.core.hookspecs import hookimpl
from salon.core.models import User
from salon.core.room_service import user_summary
from salon.plugins import clubs as clubs_plugin
from salon.plugins.clubs.models import Club, ClubMember
from tests.helpers import PASSWORD, Api, LiveServer, start_instance


class ForbiddenWord:
    """A moderation rule of the kind another plugin would add."""

    @hookimpl
    def salon_check_content(self, actor: Any, kind: str, text: str) -> str | None:
        return f"{kind} may not say that" if "forbidden" in text.lower() else None


@pytest.fixture
def clubs_on(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``clubs_on(database_url, **sections)``: an instance with clubs enabled."""
    started: list[LiveServer] = []

    def start(database_url: str, **sections: Any) -> LiveServer:
        plugins = {"enabled": ["clubs"], **sections.pop("plugins", {})}
        server = start_instance(
            tmp_path / f"instance{len(started)}",
            database_url,
            extra_plugins=[("forbidden_word", ForbiddenWord())],
            plugins=plugins,
            **sections,
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(clubs_on: Callable[..., LiveServer], sqlite_url: str) -> LiveServer:
    """Clubs on SQLite: most club tests are about rules, not the database."""
    return clubs_on(sqlite_url)


@pytest.fixture
def any_db_server(clubs_on: Callable[..., LiveServer], database_url: str) -> LiveServer:
    """Clubs on SQLite and on PostgreSQL."""
    return clubs_on(database_url)


_HASH: list[str] = []


def person(server: LiveServer, username: str) -> Api:
    """A user with an API token, made in the server's own event loop with the core's
    account code but a password hash computed once per session: Argon2 costs about a
    second per sign-up on a busy machine, and club tests need many people."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    (loop,) = [loop for loop, app in clubs_plugin._apps.items() if app is server.app]

    async def make() -> tuple[dict[str, Any], str]:
        async with server.app.state.db.session() as session:
            user = User(username=username, display_name=username, password_hash=_HASH[0])
            session.add(user)
            await session.commit()
            await session.refresh(user)
            secret, _ = await issue_credential(session, user, kind="api", name="test")
        return user_summary(user), secret

    summary, token = asyncio.run_coroutine_threadsafe(make(), loop).result(timeout=10)
    return Api(server, summary, token)


def make_club(api: Api, name: str = "Jazz Lovers", **fields: Any) -> dict[str, Any]:
    r = api.post("/api/clubs", {"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def rows_of(server: LiveServer, handle: str, username: str) -> list[tuple[str, str]]:
    """(status, role) of every membership row of USERNAME in the club, straight from
    the database."""
    engine = make_sync_engine(server.settings.instance.database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(ClubMember.status, ClubMember.role)
                .join(Club, Club.id == ClubMember.club_id)
                .join(User, User.id == ClubMember.user_id)
                .where(Club.handle == handle, User.username == username)
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]
