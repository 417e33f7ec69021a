"""Federation fixtures: real Salon instances, each its own uvicorn server on its own
port of 127.0.0.1, its own database and keys, talking to each other over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from salon.core.db import sync_url
from tests.conftest import PG_SKIP, PG_URL

from .helpers import Cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory of fresh databases, one per instance: SQLite files, or new schemas on
    the PostgreSQL server."""
    if request.param == "sqlite":
        yield lambda name: f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    engine = create_engine(sync_url(PG_URL))
    schemas: list[str] = []

    def new(name: str) -> str:
        schema = f"salon_fed_{name.lower()}_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    try:
        yield new
    finally:
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def sqlite_databases(tmp_path: Path) -> Callable[[str], str]:
    return lambda name: f"sqlite:///{tmp_path / f'{name}.db'}"


@pytest.fixture
def cluster(tmp_path: Path, sqlite_databases: Callable[[str], str]) -> Iterator[Cluster]:
    """Instances on SQLite (for tests whose subject is not the database)."""
    started = Cluster(tmp_path, sqlite_databases)
    yield started
    started.stop_all()


@pytest.fixture
def any_cluster(tmp_path: Path, any_database: Callable[[str], str]) -> Iterator[Cluster]:
    """Instances on SQLite, and again on PostgreSQL when configured."""
    started = Cluster(tmp_path, any_database)
    yield started
    started.stop_all()
