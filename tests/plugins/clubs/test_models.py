"""The clubs tables: the plugin's migrations build exactly what its models describe,
on SQLite and PostgreSQL, and come down again without touching the core's."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from salon.core import db
from salon.plugins import clubs
from salon.plugins.clubs.models import ClubsModel

TABLES = {"clubs_club", "clubs_member", "clubs_follow", "clubs_room"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Only the plugin's tables (and what is on them) are compared: the core's are not
    in the plugin's metadata."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name in TABLES


def _upgrade(url: str) -> None:
    db.upgrade(url, plugins={"clubs": clubs.salon_migrations()})


def test_migrations_match_the_models(database_url: str) -> None:
    _upgrade(database_url)
    engine = db.make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _ours})
            diff = compare_metadata(context, ClubsModel.metadata)
        assert diff == [], f"clubs models and migrations disagree: {diff}"
        assert set(ClubsModel.metadata.tables) == TABLES
    finally:
        engine.dispose()


def test_downgrade_removes_only_the_clubs_tables(database_url: str) -> None:
    _upgrade(database_url)
    cfg = db.alembic_config(database_url, "clubs", clubs.salon_migrations())
    command.downgrade(cfg, "base")
    engine = db.make_sync_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert not tables & TABLES and {"user", "room"} <= tables
        _upgrade(database_url)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
