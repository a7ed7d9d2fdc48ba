"""Contacts, the directory, room members and missed calls (issue 11; F-WB3, F-WB4).

Who is whose contact is the domain's rule (``domain.people.contacts_of``); this service
reads its parts from the store in one unit of work. Presence is not here: it lives in
memory with the pages (app/people.py), which asks this service whose pages to tell
(``watchers_of``) and whom an account may call (``is_contact``).
"""

from __future__ import annotations

import builtins
import uuid
from typing import Literal

from confero.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from confero.app.rooms import RoomService
from confero.domain.accounts import MAX_DISPLAY_NAME as MAX_NAME
from confero.domain.accounts import Account, normalize_email
from confero.domain.errors import DomainError
from confero.domain.people import (
    DIRECTORY_LIMIT,
    MAX_DIRECTORY_LIMIT,
    MAX_MISSED,
    Contact,
    ContactSource,
    Member,
    MissedCall,
    MissedKind,
    clean_query,
    contacts_of,
    directory_entry,
    members_of,
)
from confero.domain.rooms import Room

#: ``dismiss_missed``'s word for every missed call of the account.
ALL: Literal["all"] = "all"


def _id(account: Account | str) -> str:
    return account if isinstance(account, str) else account.id


class ContactService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ------------------------------------------------------------ contacts

    @staticmethod
    async def _contacts(uow: UnitOfWork, account_id: str) -> list[Contact]:
        added = set(await uow.contacts.added(account_id))
        peers = set(await uow.contacts.room_peers(account_id))
        accounts = await uow.accounts.get_many(added | peers)
        return contacts_of(account_id, accounts, added, peers)

    async def list(self, account: Account) -> list[Contact]:
        """Added accounts and room co-members, by name (disabled ones and oneself never)."""
        async with self._uow() as uow:
            return await self._contacts(uow, account.id)

    async def add(
        self, account: Account, contact_id: str | None = None, email: str | None = None
    ) -> Contact:
        """Adds an account of this server by id or email (exactly one); adding one that
        is already added changes nothing and answers the same."""
        if (contact_id is None) == (email is None):
            raise DomainError("contact.invalid", "name the contact by account id or by email")
        async with self._uow() as uow:
            if email is not None:
                try:
                    other = await uow.accounts.by_email(normalize_email(email))
                except DomainError:
                    other = None
            else:
                assert contact_id is not None
                other = await uow.accounts.get(contact_id)
            if other is None or other.disabled:
                raise DomainError("contact.invalid", "no account to add by that name")
            if other.id == account.id:
                raise DomainError("contact.invalid", "you cannot add yourself")
            await uow.contacts.add(account.id, other.id, self._clock.now())
            await uow.commit()
        return Contact(other.id, other.display_name, other.email, ContactSource.ADDED)

    async def remove(self, account: Account, contact_id: str) -> None:
        """Only added contacts go; co-members of a room stay while they share it."""
        async with self._uow() as uow:
            if not await uow.contacts.remove(account.id, contact_id):
                raise DomainError("contact.not_found", "that account is not an added contact")
            await uow.commit()

    async def directory(
        self, account: Account, q: str, limit: int = DIRECTORY_LIMIT
    ) -> builtins.list[Contact]:
        """Enabled accounts of the server whose name or email contains ``q`` (at least
        two characters, any case), oneself left out; empty for a shorter query."""
        folded = clean_query(q)
        if folded is None:
            return []
        limit = max(1, min(limit, MAX_DIRECTORY_LIMIT))
        async with self._uow() as uow:
            found = await uow.accounts.search(folded, limit + 1)
        return [directory_entry(a) for a in found if a.id != account.id][:limit]

    async def is_contact(self, account_id: str, other_id: str) -> bool:
        """``other_id`` is on ``account_id``'s list (who may be called, F-WB3)."""
        if account_id == other_id:
            return False
        async with self._uow() as uow:
            return any(c.account_id == other_id for c in await self._contacts(uow, account_id))

    async def watchers_of(self, account_id: str) -> set[str]:
        """The accounts that have ``account_id`` on their list: they added it, or share
        a room with it. Its presence changes are pushed to their pages."""
        async with self._uow() as uow:
            me = await uow.accounts.get(account_id)
            if me is None or me.disabled:
                return set()
            ids = set(await uow.contacts.added_by(account_id))
            ids |= set(await uow.contacts.room_peers(account_id))
            ids.discard(account_id)
            return {a.id for a in await uow.accounts.get_many(ids) if not a.disabled}

    # ------------------------------------------------------------ room members

    async def members(self, account: Account, room_id: str) -> builtins.list[Member]:
        """The owner first, then the members by name; for anyone with a role in the
        room (others get ``room.not_found``, as for the room itself)."""
        async with self._uow() as uow:
            room = await RoomService.visible(uow, account, room_id)
            return await self._members(uow, room)

    @staticmethod
    async def _members(uow: UnitOfWork, room: Room) -> builtins.list[Member]:
        people = {a.id: a for a in await uow.accounts.get_many({room.owner_id, *room.members})}
        return members_of(
            people.get(room.owner_id),
            [(people[i], role) for i, role in room.members.items() if i in people],
        )

    # ------------------------------------------------------------ missed calls

    async def record_missed(
        self,
        account_id: str,
        caller: Account | None = None,
        kind: MissedKind | str = MissedKind.CALL,
        room: Room | None = None,
        *,
        caller_id: str | None = None,
        caller_name: str | None = None,
    ) -> MissedCall:
        """Stores a missed call for ``account_id`` (kept: the newest ``MAX_MISSED``). The
        caller is ``caller``, or ``caller_id`` and ``caller_name`` where only those are
        known (a call that rang out). A gather keeps the room's invite token for its Join
        link; a 1:1 call has none."""
        missed_kind = MissedKind(kind)
        missed = MissedCall(
            id=uuid.uuid4().hex,
            account_id=account_id,
            caller_id=caller.id if caller else caller_id,
            caller_name=(caller.display_name if caller else caller_name or "")[:MAX_NAME],
            kind=missed_kind,
            room_id=room.id if room else None,
            room_name=room.name if room else "",
            invite_token=room.invite_token if room and missed_kind is MissedKind.GATHER else None,
            at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.missed_calls.add(missed)
            await uow.missed_calls.trim(account_id, MAX_MISSED)
            await uow.commit()
        return missed

    async def missed(self, account: Account | str) -> builtins.list[MissedCall]:
        """The account's (an ``Account`` or its id) missed calls, newest first."""
        async with self._uow() as uow:
            return list(await uow.missed_calls.list(_id(account), MAX_MISSED))

    async def dismiss_missed(self, account: Account | str, id_or_all: str | None) -> int:
        """Dismisses one of the account's missed calls, or all of them (``"all"`` or
        ``None``); how many went (0 for an id that is gone already: another tab
        dismissed it, or it is not the account's)."""
        which = None if id_or_all in (None, ALL) else id_or_all
        async with self._uow() as uow:
            gone = await uow.missed_calls.dismiss(_id(account), which)
            await uow.commit()
        return gone
