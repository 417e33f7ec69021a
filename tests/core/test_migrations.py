"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from salon.core import db, models


def core_tables() -> set[str]:
    """The tables of the core's models; plugins' models (imported by other tests into the
    same metadata) have their own histories and their own tests."""
    return {
        mapper.local_table.name
        for mapper in SQLModel._sa_registry.mappers
        if mapper.class_.__module__ == models.__name__
    }


def test_migrations_match_the_models(database_url: str) -> None:
    db.upgrade(database_url)
    engine = db.make_sync_engine(database_url)
    mine = core_tables()
    assert {"user", "room", "follow"} <= mine

    def core_only(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is None or table.name in mine

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": core_only})
            diff = compare_metadata(context, SQLModel.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_up_again(database_url: str) -> None:
    db.upgrade(database_url)
    command.downgrade(db.alembic_config(database_url), "base")
    engine = db.make_sync_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        db.upgrade(database_url)
        engine.dispose()
        tables = set(inspect(engine).get_table_names())
        assert {"user", "room", "roommember", "follow", "authtoken", "invite"} <= tables
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    db.upgrade(sqlite_url)
    engine = db.make_sync_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
