"""Reports from other servers: an ActivityPub ``Flag`` has no local reporter, so
``reporter_id`` may be empty and ``remote_reporter`` names the remote actor.

Revision ID: moderation_0002
Revises: moderation_0001
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "moderation_0002"
down_revision = "moderation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderation_report") as batch:
        batch.alter_column("reporter_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(
            sa.Column(
                "remote_reporter",
                sqlmodel.sql.sqltypes.AutoString(length=600),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    # Reports from other servers have no local reporter to keep: they go with the column.
    op.execute("DELETE FROM moderation_report WHERE reporter_id IS NULL")
    with op.batch_alter_table("moderation_report") as batch:
        batch.drop_column("remote_reporter")
        batch.alter_column("reporter_id", existing_type=sa.Integer(), nullable=False)
