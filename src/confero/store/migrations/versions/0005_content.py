"""Room content (issue 12, F-RC1): whiteboards and their items, shared files, recordings.

Every table hangs off its room with ON DELETE CASCADE, and the room's Reset deletes
their rows in one transaction; files and recordings keep only a blob key here, the bytes
live in the blob directory (store/blobs.py).

Revision ID: 0005_content
Revises: 0004_people
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_content"
down_revision = "0004_people"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _room_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["room_id"], ["rooms.id"], ondelete="CASCADE", name=f"fk_{table}_room_id_rooms"
    )


def upgrade() -> None:
    op.create_table(
        "boards",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_boards"),
        _room_fk("boards"),
    )
    op.create_index("ix_boards_room_id", "boards", ["room_id"])
    op.create_table(
        "board_items",
        sa.Column("board_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(40), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("board_id", "item_id", name="pk_board_items"),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], ondelete="CASCADE", name="fk_board_items_board_id_boards"
        ),
    )
    op.create_table(
        "room_files",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(220), nullable=False),
        sa.Column("media_type", sa.String(120), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob", sa.String(32), nullable=False),
        sa.Column("uploader_id", sa.String(64), nullable=True),
        sa.Column("uploader_name", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_room_files"),
        _room_fk("room_files"),
    )
    op.create_index("ix_room_files_room_id", "room_files", ["room_id"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob", sa.String(32), nullable=False),
        sa.Column("started_by", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        _room_fk("recordings"),
    )
    op.create_index("ix_recordings_room_id", "recordings", ["room_id"])


def downgrade() -> None:
    op.drop_table("recordings")
    op.drop_table("room_files")
    op.drop_table("board_items")
    op.drop_table("boards")
