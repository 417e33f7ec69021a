"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
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


def test_an_upgrade_keeps_the_rows_that_reference_a_rebuilt_table(database_url: str) -> None:
    """0003 rebuilds ``user`` and ``authtoken`` on SQLite (a column changes); the rows
    of every table pointing at them survive, and every reference still holds."""
    db.upgrade(database_url, "0002")
    engine = db.make_sync_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    'INSERT INTO "user" (username, display_name, bio, password_hash,'
                    " is_admin, created_at) VALUES ('ann', 'Ann', '', 'x', false, :t),"
                    " ('bob', 'Bob', '', 'x', false, :t)"
                ),
                {"t": "2026-01-01 00:00:00"},
            )
            ids = dict(conn.execute(text('SELECT username, id FROM "user"')).all())
            conn.execute(
                text(
                    "INSERT INTO follow (follower_id, followee_id, created_at) VALUES (:a, :b, :t)"
                ),
                {"a": ids["ann"], "b": ids["bob"], "t": "2026-01-01 00:00:00"},
            )
            conn.execute(
                text(
                    "INSERT INTO authtoken (user_id, kind, name, token_hash, created_at)"
                    " VALUES (:a, 'api', '', 'h', :t)"
                ),
                {"a": ids["ann"], "t": "2026-01-01 00:00:00"},
            )
        engine.dispose()
        db.upgrade(database_url)
        with engine.connect() as conn:
            assert conn.execute(text('SELECT username, home FROM "user" ORDER BY id')).all() == [
                ("ann", None),
                ("bob", None),
            ]
            assert conn.execute(text("SELECT follower_id, followee_id FROM follow")).all() == [
                (ids["ann"], ids["bob"])
            ]
            assert conn.execute(text("SELECT user_id, room_id FROM authtoken")).all() == [
                (ids["ann"], None)
            ]
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
