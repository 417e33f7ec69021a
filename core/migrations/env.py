"""Alembic environment: Salon's migrations run against the configured database."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from salon.core import models  # noqa: F401  (registers the core tables)
from salon.core.db import make_sync_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = make_sync_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column by copying its table into a new one; with foreign
            # keys enforced, dropping a table that others reference (user, room) would
            # fail. SQLite's own procedure: turn enforcement off outside the transaction,
            # migrate, then check every reference before committing.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            # A plugin's history is kept in its own table (see salon.core.db.alembic_config).
            version_table=config.get_main_option("version_table") or "alembic_version",
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration broke references: {broken[:5]}")
    engine.dispose()


run_migrations()
