"""Shared fixtures: a database per test (SQLite, and PostgreSQL when configured) and
real Salon servers on free ports of 127.0.0.1."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from salon.core.db import sync_url

from .helpers import LiveServer, start_instance

PG_URL = os.environ.get("SALON_TEST_DATABASE_URL")
PG_SKIP = (
    "PostgreSQL run skipped: set SALON_TEST_DATABASE_URL, e.g. "
    "postgresql+psycopg://root@127.0.0.1:5432/test (.ci/run does)"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def postgres_schema(prefix: str = "salon_test") -> Iterator[str]:
    """A new, empty schema on the PostgreSQL server, dropped afterwards: yields a URL
    whose connections use it. Skips the test when no server is configured."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(sync_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'salon.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For tests whose subject is not the database: SQLite only."""
    return f"sqlite:///{tmp_path / 'salon.db'}"


@pytest.fixture
def make_server(tmp_path: Path, database_url: str) -> Iterator[Callable[..., LiveServer]]:
    """Start Salon instances on the test's database: ``make_server(instance={...})``."""
    started: list[LiveServer] = []

    def make(**sections: Any) -> LiveServer:
        directory = tmp_path / f"instance{len(started)}"
        server = start_instance(directory, database_url, **sections)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """One Salon instance with the default settings, on SQLite and on PostgreSQL."""
    return make_server()
