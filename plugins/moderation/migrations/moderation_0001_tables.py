"""The moderation plugin's tables: blocks, suspensions, moderators, reports, instance
blocks and the audit log.

Revision ID: moderation_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "moderation_0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sqlmodel.sql.sqltypes.UTCDateTime


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _user(column: str, *, nullable: bool, ondelete: str) -> list[sa.SchemaItem]:
    return [
        sa.Column(column, sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint([column], ["user.id"], ondelete=ondelete),
    ]


def upgrade() -> None:
    op.create_table(
        "moderation_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user("actor_id", nullable=True, ondelete="SET NULL"),
        sa.Column("action", _text(40), nullable=False),
        sa.Column("target", _text(300), nullable=False),
        sa.Column("reason", _text(1000), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_moderation_audit_actor_id", "moderation_audit", ["actor_id"])
    op.create_index("ix_moderation_audit_created_at", "moderation_audit", ["created_at"])

    op.create_table(
        "moderation_block",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user("blocker_id", nullable=False, ondelete="CASCADE"),
        *_user("blocked_id", nullable=False, ondelete="CASCADE"),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("blocker_id", "blocked_id"),
    )
    op.create_index("ix_moderation_block_blocked_id", "moderation_block", ["blocked_id"])
    op.create_index("ix_moderation_block_blocker_id", "moderation_block", ["blocker_id"])

    op.create_table(
        "moderation_instance_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", _text(253), nullable=False),
        sa.Column("reason", _text(1000), nullable=False),
        *_user("created_by", nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("announced_at", UTC_TIME(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain"),
    )

    op.create_table(
        "moderation_moderator",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user("user_id", nullable=False, ondelete="CASCADE"),
        *_user("granted_by", nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )

    op.create_table(
        "moderation_suspension",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user("user_id", nullable=False, ondelete="CASCADE"),
        *_user("created_by", nullable=True, ondelete="SET NULL"),
        sa.Column("reason", _text(1000), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("expires_at", UTC_TIME(), nullable=True),
        sa.Column("lifted_at", UTC_TIME(), nullable=True),
        *_user("lifted_by", nullable=True, ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_moderation_suspension_user_id", "moderation_suspension", ["user_id"])

    op.create_table(
        "moderation_report",
        sa.Column("id", sa.Integer(), nullable=False),
        *_user("reporter_id", nullable=False, ondelete="CASCADE"),
        sa.Column("kind", _text(10), nullable=False),
        *_user("user_id", nullable=True, ondelete="CASCADE"),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], ondelete="SET NULL"),
        sa.Column("club_id", sa.Integer(), nullable=True),
        sa.Column("reason", _text(20), nullable=False),
        sa.Column("text", _text(2000), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("state", _text(10), nullable=False),
        sa.Column("action", _text(20), nullable=False),
        sa.Column("note", _text(1000), nullable=False),
        *_user("handled_by", nullable=True, ondelete="SET NULL"),
        sa.Column("handled_at", UTC_TIME(), nullable=True),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_moderation_report_reporter_id", "moderation_report", ["reporter_id"])
    op.create_index("ix_moderation_report_state", "moderation_report", ["state"])
    op.create_index("ix_moderation_report_user_id", "moderation_report", ["user_id"])


def downgrade() -> None:
    for table in (
        "moderation_report",
        "moderation_suspension",
        "moderation_moderator",
        "moderation_instance_block",
        "moderation_block",
        "moderation_audit",
    ):
        op.drop_table(table)
