"""Repositories: rows <-> domain dataclasses, inside one session (one unit of work).

The statements of the hot reads (a room and its members: every request about a room
makes them) are built once at import, with bound parameters: building a ``select`` with
its ``where`` anew cost about a third of such a read (issue 17's profile).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from confero.domain.accounts import Account
from confero.domain.content import ActivityEntry, ChatMessage
from confero.domain.reservations import Reservation
from confero.domain.roles import Role
from confero.domain.rooms import Language, Room, RoomKind
from confero.store.models import (
    AccountRow,
    ActivityRow,
    ChatRow,
    MemberRow,
    MissedCallRow,
    ReservationRow,
    RoomRow,
    TokenRow,
)


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        password_hash=row.password_hash,
        created_at=utc(row.created_at),
        is_admin=row.is_admin,
        disabled=row.disabled,
        time_zone=row.time_zone,
        sms_allowance=row.sms_allowance,
        sms_used=row.sms_used,
    )


def _fill_account(row: AccountRow, account: Account) -> None:
    row.email = account.email
    row.display_name = account.display_name
    row.password_hash = account.password_hash
    row.is_admin = account.is_admin
    row.disabled = account.disabled
    row.time_zone = account.time_zone
    row.sms_allowance = account.sms_allowance


class SqlAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, account: Account) -> None:
        row = AccountRow(
            id=account.id, created_at=utc(account.created_at), sms_used=account.sms_used
        )
        _fill_account(row, account)
        self._s.add(row)
        await self._s.flush()

    async def update(self, account: Account) -> None:
        """Everything but ``sms_used``: only the atomic credit statement of the notices
        store counts SMS, so an edit made meanwhile cannot overwrite the count."""
        row = await self._s.get(AccountRow, account.id)
        if row is None:
            return
        _fill_account(row, account)
        await self._s.flush()

    async def list_all(self) -> Sequence[Account]:
        rows = await self._s.execute(select(AccountRow).order_by(AccountRow.email))
        return [_account(r) for r in rows.scalars()]

    async def get(self, account_id: str) -> Account | None:
        row = await self._s.get(AccountRow, account_id)
        return _account(row) if row else None

    async def by_email(self, email: str) -> Account | None:
        row = (await self._s.execute(select(AccountRow).where(AccountRow.email == email))).scalar()
        return _account(row) if row else None

    async def get_many(self, account_ids: Iterable[str]) -> Sequence[Account]:
        ids = sorted(set(account_ids))
        if not ids:
            return []
        rows = await self._s.execute(
            select(AccountRow).where(AccountRow.id.in_(ids)).order_by(AccountRow.email)
        )
        return [_account(r) for r in rows.scalars()]

    async def search(self, folded_query: str, limit: int) -> Sequence[Account]:
        """Enabled accounts whose name or email contains the query (lower case already),
        by name; ``lower`` folds every letter on SQLite too (store/database.py)."""
        rows = await self._s.execute(
            select(AccountRow)
            .where(
                AccountRow.disabled.is_(False),
                or_(
                    func.lower(AccountRow.display_name).contains(folded_query, autoescape=True),
                    func.lower(AccountRow.email).contains(folded_query, autoescape=True),
                ),
            )
            .order_by(func.lower(AccountRow.display_name), AccountRow.email)
            .limit(limit)
        )
        return [_account(r) for r in rows.scalars()]

    async def count(self) -> int:
        return int(
            (await self._s.execute(select(func.count()).select_from(AccountRow))).scalar_one()
        )

    async def lock(self, account_id: str) -> None:
        await self._s.execute(
            select(AccountRow.id).where(AccountRow.id == account_id).with_for_update()
        )


_SIGNED_IN = (
    select(AccountRow, TokenRow.expires_at)
    .join(TokenRow, TokenRow.account_id == AccountRow.id)
    .where(TokenRow.token_hash == bindparam("token_hash"))
)


class SqlTokens:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self,
        token_hash: str,
        account_id: str,
        kind: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        self._s.add(
            TokenRow(
                token_hash=token_hash,
                account_id=account_id,
                kind=kind,
                created_at=utc(created_at),
                expires_at=utc(expires_at),
            )
        )
        await self._s.flush()

    async def get(self, token_hash: str) -> tuple[str, datetime] | None:
        row = await self._s.get(TokenRow, token_hash)
        return (row.account_id, utc(row.expires_at)) if row else None

    async def signed_in(self, token_hash: str) -> tuple[Account, datetime] | None:
        found = (await self._s.execute(_SIGNED_IN, {"token_hash": token_hash})).first()
        return (_account(found[0]), utc(found[1])) if found else None

    async def delete(self, token_hash: str) -> None:
        await self._s.execute(delete(TokenRow).where(TokenRow.token_hash == token_hash))

    async def delete_for_account(self, account_id: str, except_hash: str | None = None) -> None:
        query = delete(TokenRow).where(TokenRow.account_id == account_id)
        if except_hash is not None:
            query = query.where(TokenRow.token_hash != except_hash)
        await self._s.execute(query)


# Rooms are read as plain rows (the table, not the mapped class): the domain ``Room`` is
# built from them at once, and the ORM's identity map and instance loading cost as much
# again as the query (issue 17).
_ROOMS = RoomRow.__table__
_MEMBERS = MemberRow.__table__
_MEMBERS_OF_ROOMS = select(_MEMBERS.c.room_id, _MEMBERS.c.account_id, _MEMBERS.c.role).where(
    _MEMBERS.c.room_id.in_(bindparam("room_ids", expanding=True))
)
_ROOM_BY_ID = select(_ROOMS).where(_ROOMS.c.id == bindparam("value"))
_ROOM_BY_INVITE = select(_ROOMS).where(_ROOMS.c.invite_token == bindparam("value"))
_ROOM_BY_NUMBER = select(_ROOMS).where(
    _ROOMS.c.conference_number == bindparam("value"), _ROOMS.c.kind == RoomKind.ROOM.value
)
_ROOMS_OF_ACCOUNT = (
    select(_ROOMS)
    .where(
        or_(
            _ROOMS.c.owner_id == bindparam("account_id"),
            _ROOMS.c.id.in_(
                select(_MEMBERS.c.room_id).where(_MEMBERS.c.account_id == bindparam("account_id"))
            ),
        ),
        _ROOMS.c.kind == RoomKind.ROOM.value,
    )
    .order_by(_ROOMS.c.created_at, _ROOMS.c.id)
)


class SqlRooms:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _rooms(self, rows: Sequence[Row[Any]]) -> list[Room]:
        """Rooms with their members, read in one query for all of them."""
        if not rows:
            return []
        members: dict[str, dict[str, Role]] = {row.id: {} for row in rows}
        found = await self._s.execute(_MEMBERS_OF_ROOMS, {"room_ids": list(members)})
        for room_id, account_id, role in found:
            members[room_id][account_id] = Role(role)
        return [self._room(row, members[row.id]) for row in rows]

    @staticmethod
    def _room(row: Row[Any], members: dict[str, Role]) -> Room:
        return Room(
            id=row.id,
            owner_id=row.owner_id,
            name=row.name,
            conference_number=row.conference_number,
            pin=row.pin,
            admin_pin=row.admin_pin,
            invite_token=row.invite_token,
            created_at=utc(row.created_at),
            capacity=row.capacity,
            language=Language(row.language),
            locked=row.locked,
            allow_self_unmute=row.allow_self_unmute,
            mute_on_entry=row.mute_on_entry,
            booked=row.booked,
            members=members,
            kind=RoomKind(row.kind),
        )

    @staticmethod
    def _fill(row: RoomRow, room: Room) -> None:
        row.owner_id = room.owner_id
        row.name = room.name
        row.conference_number = room.conference_number
        row.pin = room.pin
        row.admin_pin = room.admin_pin
        row.invite_token = room.invite_token
        row.capacity = room.capacity
        row.language = room.language.value
        row.locked = room.locked
        row.allow_self_unmute = room.allow_self_unmute
        row.mute_on_entry = room.mute_on_entry
        row.booked = room.booked
        row.kind = room.kind.value

    async def add(self, room: Room) -> None:
        row = RoomRow(id=room.id, created_at=utc(room.created_at))
        self._fill(row, room)
        self._s.add(row)
        await self._s.flush()
        await self._write_members(room)

    async def _write_members(self, room: Room) -> None:
        await self._s.execute(delete(MemberRow).where(MemberRow.room_id == room.id))
        for account_id, role in room.members.items():
            self._s.add(MemberRow(room_id=room.id, account_id=account_id, role=role.value))
        await self._s.flush()

    async def _one(self, statement: Select[Any], value: str) -> Room | None:
        rows = (await self._s.execute(statement, {"value": value})).all()
        found = await self._rooms(rows)
        return found[0] if found else None

    async def get(self, room_id: str) -> Room | None:
        return await self._one(_ROOM_BY_ID, room_id)

    async def by_number(self, conference_number: str) -> Room | None:
        """Call rooms are not reachable by phone (F-WB3): only ordinary rooms answer."""
        return await self._one(_ROOM_BY_NUMBER, conference_number)

    async def number_taken(self, conference_number: str) -> bool:
        found = await self._s.execute(
            select(RoomRow.id).where(RoomRow.conference_number == conference_number)
        )
        return found.first() is not None

    async def by_invite_token(self, token: str) -> Room | None:
        return await self._one(_ROOM_BY_INVITE, token)

    async def list_for_account(self, account_id: str) -> Sequence[Room]:
        found = await self._s.execute(_ROOMS_OF_ACCOUNT, {"account_id": account_id})
        return await self._rooms(found.all())

    async def update(self, room: Room) -> None:
        row = await self._s.get(RoomRow, room.id)
        if row is None:
            return
        self._fill(row, room)
        await self._s.flush()
        await self._write_members(room)

    async def delete(self, room_id: str) -> None:
        # Explicit deletes as well as ON DELETE CASCADE: nothing depends on the pragma.
        for table in (ReservationRow, ChatRow, ActivityRow, MemberRow, MissedCallRow):
            await self._s.execute(delete(table).where(table.room_id == room_id))
        await self._s.execute(delete(RoomRow).where(RoomRow.id == room_id))


def _reservation(row: ReservationRow) -> Reservation:
    return Reservation(
        id=row.id,
        account_id=row.account_id,
        room_id=row.room_id,
        start=utc(row.starts_at),
        end=utc(row.ends_at),
        created_at=utc(row.created_at),
        title=row.title,
        invitee_emails=list(row.invitee_emails or []),
        invitee_phones=list(row.invitee_phones or []),
        notify_email=row.notify_email,
        sms_at_booking=row.sms_at_booking,
        sms_reminder=row.sms_reminder,
        sequence=row.sequence,
    )


class SqlReservations:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, r: Reservation) -> None:
        self._s.add(
            ReservationRow(
                id=r.id,
                account_id=r.account_id,
                room_id=r.room_id,
                title=r.title,
                starts_at=utc(r.start),
                ends_at=utc(r.end),
                created_at=utc(r.created_at),
                invitee_emails=list(r.invitee_emails),
                invitee_phones=list(r.invitee_phones),
                notify_email=r.notify_email,
                sms_at_booking=r.sms_at_booking,
                sms_reminder=r.sms_reminder,
                sequence=r.sequence,
            )
        )
        await self._s.flush()

    async def get(self, reservation_id: str) -> Reservation | None:
        row = await self._s.get(ReservationRow, reservation_id)
        return _reservation(row) if row else None

    async def _list(self, *where: object) -> Sequence[Reservation]:
        rows = (
            (
                await self._s.execute(
                    select(ReservationRow).where(*where).order_by(ReservationRow.starts_at)  # type: ignore[arg-type]
                )
            )
            .scalars()
            .all()
        )
        return [_reservation(r) for r in rows]

    async def list_for_account(self, account_id: str) -> Sequence[Reservation]:
        return await self._list(ReservationRow.account_id == account_id)

    async def list_for_room(self, room_id: str) -> Sequence[Reservation]:
        return await self._list(ReservationRow.room_id == room_id)

    async def update(self, r: Reservation) -> None:
        row = await self._s.get(ReservationRow, r.id)
        if row is None:
            return
        row.title = r.title
        row.starts_at = utc(r.start)
        row.ends_at = utc(r.end)
        row.invitee_emails = list(r.invitee_emails)
        row.invitee_phones = list(r.invitee_phones)
        row.notify_email = r.notify_email
        row.sms_at_booking = r.sms_at_booking
        row.sms_reminder = r.sms_reminder
        row.sequence = r.sequence
        await self._s.flush()

    async def delete(self, reservation_id: str) -> None:
        await self._s.execute(delete(ReservationRow).where(ReservationRow.id == reservation_id))


#: One statement for a chat post, its id back in the same round trip (SQLite 3.35+ and
#: PostgreSQL both return it): the ORM's add and flush cost more than the insert.
_ADD_CHAT = insert(ChatRow).returning(ChatRow.id)


class SqlChat:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, m: ChatMessage) -> ChatMessage:
        added = await self._s.execute(
            _ADD_CHAT,
            {
                "room_id": m.room_id,
                "account_id": m.account_id,
                "author_name": m.author_name,
                "text": m.text,
                "created_at": utc(m.created_at),
            },
        )
        m.id = added.scalar_one()
        return m

    async def list(
        self, room_id: str, *, before: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        q = select(ChatRow).where(ChatRow.room_id == room_id)
        if before is not None:
            q = q.where(ChatRow.id < before)
        rows = (await self._s.execute(q.order_by(ChatRow.id.desc()).limit(limit))).scalars()
        return [
            ChatMessage(
                id=r.id,
                room_id=r.room_id,
                account_id=r.account_id,
                author_name=r.author_name,
                text=r.text,
                created_at=utc(r.created_at),
            )
            for r in rows
        ]

    async def delete_for_room(self, room_id: str) -> None:
        await self._s.execute(delete(ChatRow).where(ChatRow.room_id == room_id))


class SqlActivity:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, e: ActivityEntry) -> ActivityEntry:
        row = ActivityRow(
            room_id=e.room_id,
            conference_id=e.conference_id,
            kind=e.kind,
            actor=e.actor,
            detail=dict(e.detail),
            created_at=utc(e.created_at),
        )
        self._s.add(row)
        await self._s.flush()
        e.id = row.id
        return e

    async def list(
        self, room_id: str, *, before: int | None = None, limit: int = 50
    ) -> Sequence[ActivityEntry]:
        q = select(ActivityRow).where(ActivityRow.room_id == room_id)
        if before is not None:
            q = q.where(ActivityRow.id < before)
        rows = (await self._s.execute(q.order_by(ActivityRow.id.desc()).limit(limit))).scalars()
        return [
            ActivityEntry(
                id=r.id,
                room_id=r.room_id,
                conference_id=r.conference_id,
                kind=r.kind,
                actor=r.actor,
                detail=dict(r.detail or {}),
                created_at=utc(r.created_at),
            )
            for r in rows
        ]

    async def delete_for_room(self, room_id: str) -> None:
        await self._s.execute(delete(ActivityRow).where(ActivityRow.room_id == room_id))
