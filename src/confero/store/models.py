"""Tables of Confero; one schema for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


TS = DateTime(timezone=True)


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    sms_allowance: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sms_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TokenRow(Base):
    __tablename__ = "auth_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)


class RoomRow(Base):
    __tablename__ = "rooms"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    conference_number: Mapped[str] = mapped_column(String(20), unique=True)
    pin: Mapped[str] = mapped_column(String(12))
    admin_pin: Mapped[str] = mapped_column(String(12))
    invite_token: Mapped[str] = mapped_column(String(64), unique=True)
    capacity: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_self_unmute: Mapped[bool] = mapped_column(Boolean, default=True)
    mute_on_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    booked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)
    #: "room" or "call" (the private room of one accepted 1:1 call, F-WB3).
    kind: Mapped[str] = mapped_column(String(8), default="room", server_default="room")


class MemberRow(Base):
    __tablename__ = "room_members"
    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))


class ReservationRow(Base):
    __tablename__ = "reservations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(TS)
    ends_at: Mapped[datetime] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    invitee_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    invitee_phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    sms_at_booking: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sms_reminder: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ChatRow(Base):
    __tablename__ = "chat_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    author_name: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)


class ActivityRow(Base):
    __tablename__ = "activity_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    conference_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TS)


class NoticeRow(Base):
    """A durable notice job (F-RS5, F-RS6). No foreign key to the reservation: the
    cancellation of a deleted reservation outlives it (``payload`` holds its content)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_state_next_try_at", "state", "next_try_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reservation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    account_id: Mapped[str] = mapped_column(String(32), index=True)
    room_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(TS)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class SmsOutboxRow(Base):
    """What the development SMS adapter "sent" (no CONFERO_SMS_URL)."""

    __tablename__ = "sms_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS)


class ContactRow(Base):
    """An account another account added to its contacts (F-WB3); room co-members are
    contacts without a row."""

    __tablename__ = "contacts"
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(TS)


class MissedCallRow(Base):
    """A call or "call everyone" that found the account offline (F-WB3, F-WB4)."""

    __tablename__ = "missed_calls"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    caller_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    caller_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    room_id: Mapped[str | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True
    )
    room_name: Mapped[str] = mapped_column(String(200))
    invite_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class BoardRow(Base):
    """A named whiteboard of a room (issue 12); ``seq`` is its last applied operation."""

    __tablename__ = "boards"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TS)


class BoardItemRow(Base):
    """One item on a board, as the page sends it (domain/boards.py ``Item``)."""

    __tablename__ = "board_items"
    board_id: Mapped[str] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class RoomFileRow(Base):
    """A shared file (domain/files.py ``SharedFile``); the bytes are the blob ``blob``."""

    __tablename__ = "room_files"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(220))
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    blob: Mapped[str] = mapped_column(String(32))
    uploader_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    uploader_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(TS)


class RecordingRow(Base):
    """A finished recording of a conference's voices (Ogg/Opus in the blob ``blob``)."""

    __tablename__ = "recordings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    seconds: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(BigInteger)
    blob: Mapped[str] = mapped_column(String(32))
    started_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
