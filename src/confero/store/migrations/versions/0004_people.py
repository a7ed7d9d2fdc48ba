"""People (issue 11; F-WB3, F-WB4): room kinds, contacts and missed calls.

Rooms gain their kind; the server default lets existing rooms migrate as ordinary rooms
("room"), the private room of an accepted 1:1 call is a "call". Contacts are the accounts
an account added (room co-members need no row); missed calls wait for the account's next
page until dismissed.

Revision ID: 0004_people
Revises: 0003_notices
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_people"
down_revision = "0003_notices"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy) on SQLite too: copying and dropping the rooms
    # table would cascade to its members, reservations, chat and activity.
    op.add_column("rooms", sa.Column("kind", sa.String(8), nullable=False, server_default="room"))
    op.create_table(
        "contacts",
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("contact_id", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "contact_id", name="pk_contacts"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], ondelete="CASCADE", name="fk_contacts_owner_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_contacts_contact_id_accounts",
        ),
    )
    op.create_index("ix_contacts_contact_id", "contacts", ["contact_id"])
    op.create_table(
        "missed_calls",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("caller_id", sa.String(32), nullable=True),
        sa.Column("caller_name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("room_id", sa.String(32), nullable=True),
        sa.Column("room_name", sa.String(200), nullable=False),
        sa.Column("invite_token", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_missed_calls"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            ondelete="CASCADE",
            name="fk_missed_calls_account_id_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["caller_id"],
            ["accounts.id"],
            ondelete="SET NULL",
            name="fk_missed_calls_caller_id_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], ondelete="CASCADE", name="fk_missed_calls_room_id_rooms"
        ),
    )
    op.create_index("ix_missed_calls_account_id", "missed_calls", ["account_id"])


def downgrade() -> None:
    op.drop_table("missed_calls")
    op.drop_table("contacts")
    # Not batch mode, as in 0002: ALTER TABLE DROP COLUMN (SQLite 3.35).
    op.drop_column("rooms", "kind")
