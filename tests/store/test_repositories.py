"""Repositories against real databases: what goes in comes back, constraints hold, and a
unit of work that fails leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from confero.app.ports import UnitOfWorkFactory
from confero.domain.accounts import Account
from confero.domain.content import ActivityEntry, ChatMessage
from confero.domain.reservations import Reservation
from confero.domain.roles import Role
from confero.domain.rooms import Language, Room

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def account(email: str = "host@example.org") -> Account:
    return Account(uuid.uuid4().hex, email, "Host", "scrypt$x$y", T0, is_admin=False)


def room(owner: Account, number: str = "123456", token: str | None = None) -> Room:
    return Room(
        id=uuid.uuid4().hex,
        owner_id=owner.id,
        name="Board",
        conference_number=number,
        pin="111111",
        admin_pin="222222",
        invite_token=token or uuid.uuid4().hex,
        created_at=T0,
        capacity=12,
        language=Language.PL,
        booked=True,
    )


async def test_account_round_trip_and_unique_email(uow: UnitOfWorkFactory) -> None:
    a = account()
    async with uow() as u:
        await u.accounts.add(a)
        await u.commit()
    async with uow() as u:
        got = await u.accounts.by_email("host@example.org")
        assert got == a and got.created_at.tzinfo is not None
        assert await u.accounts.count() == 1
    with pytest.raises(IntegrityError):
        async with uow() as u:
            await u.accounts.add(account())


async def test_room_round_trip_with_members_and_lookups(uow: UnitOfWorkFactory) -> None:
    owner, member = account(), account("m@example.org")
    r = room(owner)
    r.members = {member.id: Role.MODERATOR}
    async with uow() as u:
        await u.accounts.add(owner)
        await u.accounts.add(member)
        await u.rooms.add(r)
        await u.commit()
    async with uow() as u:
        assert await u.rooms.get(r.id) == r
        assert await u.rooms.by_number("123456") == r
        assert await u.rooms.by_invite_token(r.invite_token) == r
        assert [x.id for x in await u.rooms.list_for_account(member.id)] == [r.id]
        r.members = {member.id: Role.PARTICIPANT}
        r.locked = True
        await u.rooms.update(r)
        await u.commit()
    async with uow() as u:
        got = await u.rooms.get(r.id)
        assert got is not None and got.locked and got.members == {member.id: Role.PARTICIPANT}


async def test_conference_numbers_are_unique(uow: UnitOfWorkFactory) -> None:
    owner = account()
    async with uow() as u:
        await u.accounts.add(owner)
        await u.rooms.add(room(owner, "555555"))
        await u.commit()
    with pytest.raises(IntegrityError):
        async with uow() as u:
            await u.rooms.add(room(owner, "555555"))


async def test_reservations_keep_aware_times_and_invitees(uow: UnitOfWorkFactory) -> None:
    owner = account()
    r = room(owner)
    res = Reservation(
        id=uuid.uuid4().hex,
        account_id=owner.id,
        room_id=r.id,
        start=T0 + timedelta(hours=1),
        end=T0 + timedelta(hours=3),
        created_at=T0,
        title="Budget",
        invitee_emails=["a@example.org"],
        invitee_phones=["+48223500908"],
    )
    async with uow() as u:
        await u.accounts.add(owner)
        await u.rooms.add(r)
        await u.reservations.add(res)
        await u.commit()
    async with uow() as u:
        got = await u.reservations.get(res.id)
        assert got == res and got.start.utcoffset() == timedelta(0)
        assert await u.reservations.list_for_account(owner.id) == [res]
        assert await u.reservations.list_for_room(r.id) == [res]
        res.end = T0 + timedelta(hours=5)
        await u.reservations.update(res)
        await u.commit()
    async with uow() as u:
        got = await u.reservations.get(res.id)
        assert got is not None and got.end == T0 + timedelta(hours=5)
        await u.reservations.delete(res.id)
        await u.commit()
    async with uow() as u:
        assert await u.reservations.get(res.id) is None


async def test_chat_and_activity_page_newest_first(uow: UnitOfWorkFactory) -> None:
    owner = account()
    r = room(owner)
    async with uow() as u:
        await u.accounts.add(owner)
        await u.rooms.add(r)
        for i in range(5):
            await u.chat.add(ChatMessage(r.id, "Ann", f"m{i}", T0 + timedelta(seconds=i)))
            await u.activity.add(
                ActivityEntry(r.id, "joined", T0, detail={"n": i, "names": ["Ann"]})
            )
        await u.commit()
    async with uow() as u:
        page = await u.chat.list(r.id, limit=2)
        assert [m.text for m in page] == ["m4", "m3"]
        older = await u.chat.list(r.id, before=page[-1].id, limit=10)
        assert [m.text for m in older] == ["m2", "m1", "m0"]
        entries = await u.activity.list(r.id, limit=10)
        assert [e.detail["n"] for e in entries] == [4, 3, 2, 1, 0]
        assert entries[0].detail["names"] == ["Ann"]


async def test_deleting_a_room_deletes_what_belongs_to_it(uow: UnitOfWorkFactory) -> None:
    owner, member = account(), account("m@example.org")
    r = room(owner)
    r.members = {member.id: Role.PARTICIPANT}
    async with uow() as u:
        for a in (owner, member):
            await u.accounts.add(a)
        await u.rooms.add(r)
        await u.reservations.add(
            Reservation(uuid.uuid4().hex, owner.id, r.id, T0, T0 + timedelta(hours=1), T0)
        )
        await u.chat.add(ChatMessage(r.id, "Ann", "hi", T0))
        await u.activity.add(ActivityEntry(r.id, "joined", T0))
        await u.commit()
    async with uow() as u:
        await u.rooms.delete(r.id)
        await u.commit()
    async with uow() as u:
        assert await u.rooms.get(r.id) is None
        assert await u.reservations.list_for_account(owner.id) == []
        assert await u.chat.list(r.id) == [] and await u.activity.list(r.id) == []
        assert await u.rooms.list_for_account(member.id) == []


async def test_a_failed_unit_of_work_leaves_no_rows(uow: UnitOfWorkFactory) -> None:
    owner = account()
    with pytest.raises(RuntimeError):
        async with uow() as u:
            await u.accounts.add(owner)
            await u.rooms.add(room(owner))
            raise RuntimeError("boom before commit")
    async with uow() as u:
        assert await u.accounts.count() == 0
        assert await u.rooms.by_number("123456") is None


async def test_tokens_store_hash_and_expiry(uow: UnitOfWorkFactory) -> None:
    owner = account()
    async with uow() as u:
        await u.accounts.add(owner)
        await u.tokens.add("h" * 64, owner.id, "session", T0, T0 + timedelta(days=14))
        await u.commit()
    async with uow() as u:
        assert await u.tokens.get("h" * 64) == (owner.id, T0 + timedelta(days=14))
        assert await u.tokens.signed_in("h" * 64) == (owner, T0 + timedelta(days=14))
        assert await u.tokens.signed_in("x" * 64) is None
        await u.tokens.delete("h" * 64)
        await u.commit()
    async with uow() as u:
        assert await u.tokens.get("h" * 64) is None
