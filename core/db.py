"""Database engines and schema set-up.

The config names one URL (``sqlite:///...`` or ``postgresql+psycopg://...``); the web
process talks to it through SQLAlchemy's asyncio engine (aiosqlite / psycopg async),
while migrations and the CLI use a plain engine on the same database. SQLite runs in
WAL mode with foreign keys on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def sync_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return str(parsed.set(drivername="postgresql+psycopg").render_as_string(False))
    return url


def async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is corruption-safe and skips an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _prepare_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def make_sync_engine(url: str) -> Engine:
    _prepare_sqlite_file(url)
    engine = create_engine(sync_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """The instance's database: an async engine for requests, sessions from it."""

    def __init__(self, url: str):
        self.url = url
        _prepare_sqlite_file(url)
        self.engine: AsyncEngine = create_async_engine(async_url(url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str, plugin: str | None = None, versions: Path | None = None) -> Config:
    """Alembic's config for the core's history, or for PLUGIN's own history in VERSIONS
    (recorded in ``alembic_version_<plugin>``, so histories never mix)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    if plugin is not None and versions is not None:
        cfg.set_main_option("version_locations", str(versions))
        cfg.set_main_option("version_table", f"alembic_version_{plugin}")
    return cfg


def upgrade(url: str, revision: str = "heads", plugins: Mapping[str, Path] | None = None) -> None:
    """Apply every pending migration: the core's, then each plugin's in PLUGINS
    (``salon db upgrade``; also run by ``salon serve``)."""
    _prepare_sqlite_file(url)
    logger.info("applying database migrations to %s", make_url(url).render_as_string())
    command.upgrade(alembic_config(url), revision)
    for name, versions in sorted((plugins or {}).items()):
        logger.info("applying migrations of plugin %s", name)
        command.upgrade(alembic_config(url, name, Path(versions)), "heads")


def sync_session(url: str) -> Session:
    return Session(make_sync_engine(url))
