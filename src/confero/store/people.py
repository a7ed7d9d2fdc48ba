"""Contacts and missed calls in the database (issue 11; F-WB3, F-WB4).

Only added contacts have rows; room co-members are read from the rooms themselves, so a
membership change changes the contact lists at once with nothing to keep in step. Call
rooms do not make contacts: they exist only because two people already were contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from confero.domain.people import MissedCall, MissedKind
from confero.domain.rooms import RoomKind
from confero.store.models import ContactRow, MemberRow, MissedCallRow, RoomRow
from confero.store.repositories import utc


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


class SqlContacts:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, owner_id: str, contact_id: str, created_at: datetime) -> bool:
        """One statement that skips a pair already there, so a double click (two requests
        at once) is no primary-key error."""
        insert = pg_insert if self._s.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(ContactRow)
            .values(owner_id=owner_id, contact_id=contact_id, created_at=utc(created_at))
            .on_conflict_do_nothing(index_elements=["owner_id", "contact_id"])
        )
        return _rowcount(await self._s.execute(statement)) == 1

    async def remove(self, owner_id: str, contact_id: str) -> bool:
        result = await self._s.execute(
            delete(ContactRow).where(
                ContactRow.owner_id == owner_id, ContactRow.contact_id == contact_id
            )
        )
        return _rowcount(result) > 0

    async def added(self, owner_id: str) -> Sequence[str]:
        rows = await self._s.execute(
            select(ContactRow.contact_id).where(ContactRow.owner_id == owner_id)
        )
        return list(rows.scalars())

    async def added_by(self, contact_id: str) -> Sequence[str]:
        rows = await self._s.execute(
            select(ContactRow.owner_id).where(ContactRow.contact_id == contact_id)
        )
        return list(rows.scalars())

    async def room_peers(self, account_id: str) -> Sequence[str]:
        """Owners and members of the ordinary rooms ``account_id`` owns or belongs to."""
        member_of = select(MemberRow.room_id).where(MemberRow.account_id == account_id)
        rooms = select(RoomRow.id).where(
            RoomRow.kind == RoomKind.ROOM.value,
            or_(RoomRow.owner_id == account_id, RoomRow.id.in_(member_of)),
        )
        peers = union(
            select(RoomRow.owner_id.label("id")).where(RoomRow.id.in_(rooms)),
            select(MemberRow.account_id.label("id")).where(MemberRow.room_id.in_(rooms)),
        )
        rows = await self._s.execute(peers)
        return [r for r in rows.scalars() if r != account_id]


def _missed(row: MissedCallRow, current_token: str | None) -> MissedCall:
    kind = MissedKind(row.kind)
    token = (current_token or row.invite_token) if kind is MissedKind.GATHER else None
    return MissedCall(
        id=row.id,
        account_id=row.account_id,
        caller_id=row.caller_id,
        caller_name=row.caller_name,
        kind=kind,
        room_id=row.room_id,
        room_name=row.room_name,
        invite_token=token,
        at=utc(row.created_at),
    )


class SqlMissedCalls:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, m: MissedCall) -> None:
        self._s.add(
            MissedCallRow(
                id=m.id,
                account_id=m.account_id,
                caller_id=m.caller_id,
                caller_name=m.caller_name,
                kind=m.kind.value,
                room_id=m.room_id,
                room_name=m.room_name,
                invite_token=m.invite_token,
                created_at=utc(m.at),
            )
        )
        await self._s.flush()

    async def list(self, account_id: str, limit: int = 50) -> Sequence[MissedCall]:
        """Newest first; a gather's token is the room's current one (a new invite link
        since the call must not leave a dead Join button)."""
        rows = await self._s.execute(
            select(MissedCallRow, RoomRow.invite_token)
            .outerjoin(RoomRow, RoomRow.id == MissedCallRow.room_id)
            .where(MissedCallRow.account_id == account_id)
            .order_by(MissedCallRow.created_at.desc(), MissedCallRow.id.desc())
            .limit(limit)
        )
        return [_missed(row, token) for row, token in rows]

    async def dismiss(self, account_id: str, missed_id: str | None) -> int:
        query = delete(MissedCallRow).where(MissedCallRow.account_id == account_id)
        if missed_id is not None:
            query = query.where(MissedCallRow.id == missed_id)
        return _rowcount(await self._s.execute(query))

    async def trim(self, account_id: str, keep: int) -> None:
        old = await self._s.execute(
            select(MissedCallRow.id)
            .where(MissedCallRow.account_id == account_id)
            .order_by(MissedCallRow.created_at.desc(), MissedCallRow.id.desc())
            .offset(keep)
        )
        ids = list(old.scalars())
        if ids:
            await self._s.execute(delete(MissedCallRow).where(MissedCallRow.id.in_(ids)))
