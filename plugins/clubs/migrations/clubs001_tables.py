"""Clubs: clubs, members, followers, club rooms.

Revision ID: clubs001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "clubs001"
down_revision = None
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes


def _user_id(name: str = "user_id") -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)


def _club_id() -> sa.Column:
    return sa.Column(
        "club_id", sa.Integer(), sa.ForeignKey("clubs_club.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "clubs_club",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handle", S.AutoString(length=30), nullable=False),
        sa.Column("name", S.AutoString(length=60), nullable=False),
        sa.Column("name_key", S.AutoString(length=60), nullable=False, unique=True),
        sa.Column("description", S.AutoString(length=1000), nullable=False),
        sa.Column("rules", S.AutoString(length=2000), nullable=False),
        sa.Column("topics", S.AutoString(length=300), nullable=False),
        sa.Column("avatar", S.AutoString(length=500), nullable=False),
        sa.Column("join_policy", S.AutoString(length=10), nullable=False),
        sa.Column("member_list", S.AutoString(length=10), nullable=False),
        _user_id("created_by"),
        sa.Column("created_at", S.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_clubs_club_handle", "clubs_club", ["handle"], unique=True)

    op.create_table(
        "clubs_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        _club_id(),
        _user_id(),
        sa.Column("role", S.AutoString(length=10), nullable=False),
        sa.Column("status", S.AutoString(length=10), nullable=False),
        sa.Column("created_at", S.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("club_id", "user_id"),
    )
    op.create_index("ix_clubs_member_club_id", "clubs_member", ["club_id"])
    op.create_index("ix_clubs_member_user_id", "clubs_member", ["user_id"])

    op.create_table(
        "clubs_follow",
        sa.Column("id", sa.Integer(), primary_key=True),
        _club_id(),
        _user_id(),
        sa.Column("created_at", S.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("club_id", "user_id"),
    )
    op.create_index("ix_clubs_follow_club_id", "clubs_follow", ["club_id"])
    op.create_index("ix_clubs_follow_user_id", "clubs_follow", ["user_id"])

    op.create_table(
        "clubs_room",
        sa.Column("id", sa.Integer(), primary_key=True),
        _club_id(),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("room.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("members_only", sa.Boolean(), nullable=False),
        sa.Column("timezone", S.AutoString(length=64), nullable=False),
        sa.Column("weekly", sa.Boolean(), nullable=False),
        sa.Column("created_at", S.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_clubs_room_club_id", "clubs_room", ["club_id"])


def downgrade() -> None:
    op.drop_table("clubs_room")
    op.drop_table("clubs_follow")
    op.drop_table("clubs_member")
    op.drop_table("clubs_club")
