"""Guest accounts: ``user.home`` (a wider ``user.username`` for ``name@host``) and
room-scoped, expiring credentials (``authtoken.room_id``, ``authtoken.expires_at``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column(
            "username",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=30),
            type_=sqlmodel.sql.sqltypes.AutoString(length=255),
            existing_nullable=False,
        )
        batch_op.add_column(
            sa.Column("home", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True)
        )
        batch_op.create_unique_constraint("uq_user_home", ["home"])
    with op.batch_alter_table("authtoken", schema=None) as batch_op:
        batch_op.add_column(sa.Column("room_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_foreign_key("fk_authtoken_room_id", "room", ["room_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("authtoken", schema=None) as batch_op:
        batch_op.drop_constraint("fk_authtoken_room_id", type_="foreignkey")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("room_id")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("uq_user_home", type_="unique")
        batch_op.drop_column("home")
        batch_op.alter_column(
            "username",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=255),
            type_=sqlmodel.sql.sqltypes.AutoString(length=30),
            existing_nullable=False,
        )
