"""Accounts gain the disabled flag, a time zone and an SMS allowance (issue 9, F-RS8).

Server defaults let existing accounts migrate as enabled, in UTC, with no SMS.

Revision ID: 0002_accounts
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_accounts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy of the table) on SQLite too: see downgrade.
    op.add_column(
        "accounts", sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "accounts", sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
    )
    op.add_column(
        "accounts", sa.Column("sms_allowance", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "accounts", sa.Column("sms_used", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    # Not batch mode: on SQLite that copies and drops the accounts table, and dropping it
    # cascades to every token, room and reservation. ALTER TABLE DROP COLUMN needs
    # SQLite 3.35 (2021).
    for column in ("sms_used", "sms_allowance", "time_zone", "disabled"):
        op.drop_column("accounts", column)
