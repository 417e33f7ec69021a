"""Join grants already used (their jti), refused again until they expire (issue 9).

Revision ID: federation_0003
Revises: federation_0002
Create Date: 2026-11-29 05:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "federation_0003"
down_revision = "federation_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_grant_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("jti", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "jti"),
    )
    with op.batch_alter_table("federation_grant_use", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federation_grant_use_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("federation_grant_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_grant_use_expires_at"))
    op.drop_table("federation_grant_use")
