"""Fixtures for the moderation plugin: a real Salon instance with the plugin enabled,
one per test module and database (SQLite, and PostgreSQL when configured), and helpers
to make admins and moderators."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from salon.core import db
from salon.core.auth import hash_password
from salon.core.models import AuthToken, User
from tests.conftest import postgres_schema
from tests.helpers import PASSWORD, Api, LiveServer, start_instance


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for one test module: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'salon.db'}"
        return
    with postgres_schema("salon_mod") as url:
        yield url


def moderation_config(**settings: Any) -> dict[str, Any]:
    return {"plugins": {"enabled": ["moderation"], "moderation": settings}}


def start(directory: Path, database_url: str, **settings: Any) -> LiveServer:
    return start_instance(directory, database_url, **moderation_config(**settings))


@pytest.fixture(scope="module")
def mserver(module_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One instance with moderation enabled, shared by a module's tests (each test
    signs up its own, uniquely named people)."""
    server = start(
        tmp_path_factory.mktemp("instance"),
        module_database,
        words=["badword"],
        patterns=[r"buy\s+cheap\s+\w+"],
        blocked_instances=["blocked.example"],
    )
    yield server
    server.stop()


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


class People:
    """Makes uniquely named people on a server, each with an API token:
    ``people("ann")`` -> Api. Signing up over HTTP costs two Argon2 hashes a person,
    so the accounts and tokens are written to the database directly (the password is
    PASSWORD all the same); sign-up itself is the core's to test."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.engine = db.make_sync_engine(server.settings.instance.database_url)
        self._admin: Api | None = None

    def __call__(self, name: str, *, admin: bool = False) -> Api:
        username = f"{name}_{uuid.uuid4().hex[:8]}"
        secret = secrets.token_urlsafe(32)
        with Session(self.engine) as session:
            user = User(
                username=username,
                display_name=name,
                password_hash=password_hash(),
                is_admin=admin,
            )
            session.add(user)
            session.flush()
            digest = hashlib.sha256(secret.encode()).hexdigest()
            session.add(AuthToken(user_id=user.id, kind="api", name="test", token_hash=digest))
            session.commit()
            body = {"id": user.id, "username": username, "display_name": name}
        return Api(self.server, body, secret)

    def admin(self, name: str = "admin") -> Api:
        return self(name, admin=True)

    def moderator(self, name: str = "mod") -> Api:
        """A user an admin granted the moderator role (through the API)."""
        person = self(name)
        if self._admin is None:
            self._admin = self.admin("boss")
        r = self._admin.post("/api/moderation/moderators", {"username": person.username})
        assert r.status_code == 204, r.text
        return person


@pytest.fixture(scope="module")
def module_people(mserver: LiveServer) -> Iterator[People]:
    people = People(mserver)
    yield people
    people.engine.dispose()


@pytest.fixture
def people(module_people: People) -> People:
    return module_people


def make_admin(server: LiveServer, username: str) -> None:
    engine = db.make_sync_engine(server.settings.instance.database_url)
    try:
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            user.is_admin = True
            session.add(user)
            session.commit()
    finally:
        engine.dispose()
