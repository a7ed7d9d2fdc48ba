"""Durable notices of reservations and the SMS outbox (issue 9; F-RS5, F-RS6, F-RS7).

Reservations gain their notice options and the calendar SEQUENCE; server defaults let
existing reservations migrate as "mail the invitees, no SMS, sequence 0".

Revision ID: 0003_notices
Revises: 0002_accounts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_notices"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("reservations") as batch:
        batch.add_column(
            sa.Column("notify_email", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("sms_at_booking", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("sms_reminder", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "notices",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("reservation_id", sa.String(32), nullable=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", TS, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
    )
    op.create_index("ix_notices_reservation_id", "notices", ["reservation_id"])
    op.create_index("ix_notices_account_id", "notices", ["account_id"])
    op.create_index("ix_notices_state_next_try_at", "notices", ["state", "next_try_at"])
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("to", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_outbox"),
    )


def downgrade() -> None:
    op.drop_table("sms_outbox")
    op.drop_table("notices")
    with op.batch_alter_table("reservations") as batch:
        for column in ("sequence", "sms_reminder", "sms_at_booking", "notify_email"):
            batch.drop_column(column)
