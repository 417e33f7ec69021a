"""The plugin's Alembic migrations build exactly the tables its models describe, and
go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from salon.core import db
from salon.plugins.moderation import models

VERSIONS = Path(models.__file__).parent / "migrations"
PLUGIN = {"moderation": VERSIONS}


def ours(diff: list) -> list:  # type: ignore[type-arg]
    """The differences that concern the plugin's tables (the core checks its own)."""
    return [d for d in diff if "moderation_" in repr(d)]


def test_migrations_match_the_models(database_url: str) -> None:
    db.upgrade(database_url, plugins=PLUGIN)
    engine = db.make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), models.metadata)
        assert ours(diff) == [], f"models and migrations disagree: {ours(diff)}"
        tables = set(inspect(engine).get_table_names())
        assert {t for t in models.metadata.tables if t.startswith("moderation_")} <= tables
    finally:
        engine.dispose()


def test_downgrade_and_up_again(database_url: str) -> None:
    db.upgrade(database_url, plugins=PLUGIN)
    command.downgrade(db.alembic_config(database_url, "moderation", VERSIONS), "base")
    engine = db.make_sync_engine(database_url)
    try:
        assert not [t for t in inspect(engine).get_table_names() if t.startswith("moderation_")]
        assert "user" in inspect(engine).get_table_names()  # the core's are untouched
        db.upgrade(database_url, plugins=PLUGIN)
        engine.dispose()
        assert "moderation_report" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
