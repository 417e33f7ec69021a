"""Rooms across servers (issue 9): rooms this instance published, rooms other servers
published to it, and the instances it peers with.

Revision ID: federation_0002
Revises: federation_0001
Create Date: 2026-11-29 05:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "federation_0002"
down_revision = "federation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_published_room",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("listener_count", sa.Integer(), nullable=False),
        sa.Column("room_inboxes", sa.Text(), nullable=False),
        sa.Column("note_id", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("note_inboxes", sa.Text(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id"),
    )
    with op.batch_alter_table("federation_published_room", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_federation_published_room_state"), ["state"], unique=False
        )
    op.create_table(
        "federation_remote_room",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("people", sa.Text(), nullable=False),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("refreshed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("object_id"),
    )
    with op.batch_alter_table("federation_remote_room", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_remote_room_host"), ["host"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_federation_remote_room_refreshed_at"), ["refreshed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_federation_remote_room_state"), ["state"], unique=False
        )
    op.create_table(
        "federation_peer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("follow_id", sqlmodel.sql.sqltypes.AutoString(length=600), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("host"),
    )


def downgrade() -> None:
    op.drop_table("federation_peer")
    with op.batch_alter_table("federation_remote_room", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_remote_room_state"))
        batch_op.drop_index(batch_op.f("ix_federation_remote_room_refreshed_at"))
        batch_op.drop_index(batch_op.f("ix_federation_remote_room_host"))
    op.drop_table("federation_remote_room")
    with op.batch_alter_table("federation_published_room", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_published_room_state"))
    op.drop_table("federation_published_room")
