"""Federation fixtures: real Salon instances, each its own uvicorn server on its own
port of 127.0.0.1, its own database and keys, talking to each other over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import postgres_schema

from .helpers import Cluster


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory of fresh databases, one per instance: SQLite files, or new schemas on
    the PostgreSQL server."""
    if request.param == "sqlite":
        yield lambda name: f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    with ExitStack() as schemas:
        yield lambda name: schemas.enter_context(postgres_schema(f"salon_fed_{name.lower()}"))


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
