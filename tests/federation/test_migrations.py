"""Federation's migrations build exactly the tables its models describe."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from salon.core import db
from salon.federation import models  # noqa: F401  (registers the tables)
from salon.federation.plugin import salon_migrations


def test_federation_migrations_match_the_models(database_url: str) -> None:
    folder = salon_migrations()
    assert Path(folder).is_dir()
    db.upgrade(database_url, plugins={"federation": folder})
    engine = db.make_sync_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        ours = [d for d in diff if "federation_" in repr(d)]
        assert ours == [], f"models and migrations disagree: {ours}"
        tables = set(inspect(engine).get_table_names())
        assert "alembic_version_federation" in tables
        command.downgrade(db.alembic_config(database_url, "federation", Path(folder)), "base")
        engine.dispose()
        assert not {t for t in inspect(engine).get_table_names() if t.startswith("federation_")}
    finally:
        engine.dispose()
