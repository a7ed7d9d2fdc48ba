"""People in the database on SQLite and PostgreSQL (issue 11; F-WB3, F-WB4): room kinds
(call rooms are never listed and never answer a phone number), added contacts, room
co-members, the directory search, and missed calls; and the migration of a database that
already has rooms."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Connection, delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.app.ports import UnitOfWorkFactory
from confero.domain.accounts import Account
from confero.domain.people import MissedCall, MissedKind
from confero.domain.roles import Role
from confero.domain.rooms import Room, RoomKind
from confero.store.database import alembic_config, upgrade
from confero.store.models import AccountRow
from confero.store.uow import make_uow_factory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def person(name: str, email: str | None = None, disabled: bool = False) -> Account:
    key = name.split()[0].lower()
    return Account(
        uuid.uuid4().hex, email or f"{key}@example.org", name, "x", T0, disabled=disabled
    )


def room(
    owner: Account,
    number: str,
    members: dict[str, Role] | None = None,
    kind: RoomKind = RoomKind.ROOM,
) -> Room:
    return Room(
        id=uuid.uuid4().hex,
        owner_id=owner.id,
        name=f"Room {number}",
        conference_number=number,
        pin="1111",
        admin_pin="2222",
        invite_token=uuid.uuid4().hex,
        created_at=T0,
        members=members or {},
        kind=kind,
    )


async def store(uow: UnitOfWorkFactory, *things: Account | Room) -> None:
    async with uow() as u:
        for thing in things:
            if isinstance(thing, Account):
                await u.accounts.add(thing)
            else:
                await u.rooms.add(thing)
        await u.commit()


def missed(
    account: Account, n: int, kind: MissedKind = MissedKind.CALL, **kw: object
) -> MissedCall:
    fields: dict[str, object] = {
        "id": f"m{n:02d}-{account.id[:8]}",
        "account_id": account.id,
        "caller_id": None,
        "caller_name": "Bob",
        "kind": kind,
        "room_id": None,
        "room_name": "",
        "invite_token": None,
        "at": T0 + timedelta(minutes=n),
    }
    fields.update(kw)
    return MissedCall(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ room kinds


async def test_call_rooms_are_stored_but_never_listed_nor_found_by_number(
    uow: UnitOfWorkFactory,
) -> None:
    ann, bob = person("Ann"), person("Bob")
    board = room(ann, "111111", {bob.id: Role.PARTICIPANT})
    call = room(ann, "222222", {bob.id: Role.MODERATOR}, kind=RoomKind.CALL)
    await store(uow, ann, bob, board, call)
    async with uow() as u:
        assert await u.rooms.get(call.id) == call
        assert await u.rooms.by_invite_token(call.invite_token) == call  # the call's link
        assert await u.rooms.by_number("222222") is None
        assert await u.rooms.by_number("111111") == board
        assert await u.rooms.number_taken("222222") and await u.rooms.number_taken("111111")
        assert not await u.rooms.number_taken("333333")
        for who in (ann, bob):
            assert [r.id for r in await u.rooms.list_for_account(who.id)] == [board.id]


# ------------------------------------------------------------------ contacts


async def test_added_contacts_come_and_go(uow: UnitOfWorkFactory) -> None:
    ann, bob, cleo = person("Ann"), person("Bob"), person("Cleo")
    await store(uow, ann, bob, cleo)
    async with uow() as u:
        assert await u.contacts.add(ann.id, bob.id, T0) is True
        assert await u.contacts.add(ann.id, bob.id, T0) is False  # once is enough
        assert await u.contacts.add(cleo.id, bob.id, T0) is True
        await u.commit()
    async with uow() as u:
        assert await u.contacts.added(ann.id) == [bob.id]
        assert sorted(await u.contacts.added_by(bob.id)) == sorted([ann.id, cleo.id])
        assert await u.contacts.added(bob.id) == []
        assert await u.contacts.remove(ann.id, bob.id) is True
        assert await u.contacts.remove(ann.id, bob.id) is False
        await u.commit()
    async with uow() as u:
        assert await u.contacts.added(ann.id) == []
        assert await u.contacts.added_by(bob.id) == [cleo.id]


async def test_adding_the_same_contact_twice_at_once_stores_it_once(
    uow: UnitOfWorkFactory,
) -> None:
    ann, bob = person("Ann"), person("Bob")
    await store(uow, ann, bob)

    async def add() -> bool:
        async with uow() as u:
            fresh = await u.contacts.add(ann.id, bob.id, T0)
            await u.commit()
        return fresh

    assert sorted(await asyncio.gather(add(), add())) == [False, True]
    async with uow() as u:
        assert await u.contacts.added(ann.id) == [bob.id]


async def test_room_peers_are_the_owners_and_members_of_ones_ordinary_rooms(
    uow: UnitOfWorkFactory,
) -> None:
    ann, bob, cleo, dan, eve = (person(n) for n in ("Ann", "Bob", "Cleo", "Dan", "Eve"))
    owned = room(ann, "111111", {bob.id: Role.PARTICIPANT, cleo.id: Role.MODERATOR})
    member_of = room(dan, "222222", {ann.id: Role.PARTICIPANT})
    call = room(ann, "333333", {eve.id: Role.MODERATOR}, kind=RoomKind.CALL)
    elsewhere = room(eve, "444444", {dan.id: Role.PARTICIPANT})
    await store(uow, ann, bob, cleo, dan, eve, owned, member_of, call, elsewhere)
    async with uow() as u:
        assert sorted(await u.contacts.room_peers(ann.id)) == sorted([bob.id, cleo.id, dan.id])
        assert sorted(await u.contacts.room_peers(bob.id)) == sorted([ann.id, cleo.id])
        assert sorted(await u.contacts.room_peers(dan.id)) == sorted([ann.id, eve.id])
        # A call room makes nobody a contact.
        assert await u.contacts.room_peers(eve.id) == [dan.id]


async def test_accounts_by_ids_and_the_directory_search(uow: UnitOfWorkFactory) -> None:
    lukasz = person("Łukasz Żak", "lz@example.org")
    anna = person("Anna Nowak", "anna@firma.pl")
    percent = person("100% Bob", "bob@example.org")
    gone = person("Lukas Gone", "lukas@example.org", disabled=True)
    await store(uow, lukasz, anna, percent, gone)
    async with uow() as u:
        got = await u.accounts.get_many([anna.id, gone.id, "nobody", anna.id])
        assert {a.id for a in got} == {anna.id, gone.id}
        assert await u.accounts.get_many([]) == []
        # Any letter's case, on SQLite as on PostgreSQL; disabled accounts never.
        assert [a.id for a in await u.accounts.search("łu", 10)] == [lukasz.id]
        assert [a.id for a in await u.accounts.search("żak", 10)] == [lukasz.id]
        assert [a.id for a in await u.accounts.search("firma", 10)] == [anna.id]
        assert [a.id for a in await u.accounts.search("nowak", 10)] == [anna.id]
        # LIKE's wildcards are plain characters in a query.
        assert [a.id for a in await u.accounts.search("0%", 10)] == [percent.id]
        assert await u.accounts.search("_", 10) == []
        by_name = await u.accounts.search("a", 2)
        assert [a.display_name for a in by_name] == ["100% Bob", "Anna Nowak"]


# ------------------------------------------------------------------ missed calls


async def test_missed_calls_list_newest_first_and_are_dismissed_by_their_account(
    uow: UnitOfWorkFactory,
) -> None:
    ann, bob = person("Ann"), person("Bob")
    await store(uow, ann, bob)
    async with uow() as u:
        for n in range(4):
            await u.missed_calls.add(missed(ann, n, caller_id=bob.id))
        await u.missed_calls.add(missed(bob, 9))
        await u.commit()
    async with uow() as u:
        listed = await u.missed_calls.list(ann.id)
        assert [m.id for m in listed] == [missed(ann, n).id for n in (3, 2, 1, 0)]
        assert listed[-1] == missed(ann, 0, caller_id=bob.id)
        assert await u.missed_calls.dismiss(bob.id, missed(ann, 3).id) == 0  # not Bob's
        assert await u.missed_calls.dismiss(ann.id, missed(ann, 3).id) == 1
        await u.missed_calls.trim(ann.id, keep=2)
        await u.commit()
    async with uow() as u:
        assert [m.id for m in await u.missed_calls.list(ann.id)] == [
            missed(ann, n).id for n in (2, 1)
        ]
        assert await u.missed_calls.dismiss(ann.id, None) == 2
        await u.commit()
    async with uow() as u:
        assert await u.missed_calls.list(ann.id) == []
        assert len(await u.missed_calls.list(bob.id)) == 1


async def test_a_gathers_link_follows_the_room_and_goes_with_it(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    ann, bob = person("Ann"), person("Bob")
    board = room(ann, "111111", {bob.id: Role.PARTICIPANT})
    await store(uow, ann, bob, board)
    gather = missed(
        bob,
        1,
        MissedKind.GATHER,
        caller_id=ann.id,
        caller_name="Ann",
        room_id=board.id,
        room_name=board.name,
        invite_token=board.invite_token,
    )
    call = missed(bob, 2, caller_id=ann.id, caller_name="Ann")
    async with uow() as u:
        await u.missed_calls.add(gather)
        await u.missed_calls.add(call)
        board.invite_token = "renewed-token"
        await u.rooms.update(board)
        await u.commit()
    async with uow() as u:
        listed = {m.id: m for m in await u.missed_calls.list(bob.id)}
        assert listed[gather.id].invite_token == "renewed-token"  # no dead Join button
        assert listed[call.id].invite_token is None
        await u.rooms.delete(board.id)
        await u.commit()
    async with uow() as u:
        assert [m.id for m in await u.missed_calls.list(bob.id)] == [call.id]
    # The caller's account gone: the missed call stays, with its name, without the id.
    async with engine.begin() as conn:
        await conn.execute(delete(AccountRow).where(AccountRow.id == ann.id))
    async with uow() as u:
        (left,) = await u.missed_calls.list(bob.id)
    assert (left.caller_id, left.caller_name) == (None, "Ann")


# ------------------------------------------------------------------ migration


def _migrate(action: str, revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        getattr(command, action)(cfg, revision)

    return run


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_existing_rooms_migrate_as_ordinary_rooms_and_keep_their_members(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_migrate("upgrade", "0003_notices"))
        for key in ("a1", "a2"):
            await conn.execute(
                text(
                    "INSERT INTO accounts (id, email, display_name, password_hash, is_admin,"
                    " created_at) VALUES (:id, :email, 'Old', 'x', :no, :at)"
                ),
                {"id": key, "email": f"{key}@example.org", "no": False, "at": T0},
            )
        await conn.execute(
            text(
                "INSERT INTO rooms (id, owner_id, name, conference_number, pin, admin_pin,"
                " invite_token, capacity, language, locked, allow_self_unmute,"
                " mute_on_entry, booked, created_at) VALUES ('r1', 'a1', 'Old room',"
                " '123456', '1111', '2222', 'tok', 10, 'en', :no, :yes, :no, :no, :at)"
            ),
            {"no": False, "yes": True, "at": T0},
        )
        await conn.execute(text("INSERT INTO room_members VALUES ('r1', 'a2', 'participant')"))

    await upgrade(engine)

    async with make_uow_factory(engine)() as u:
        old = await u.rooms.by_number("123456")
        assert old is not None and old.kind is RoomKind.ROOM
        assert old.members == {"a2": Role.PARTICIPANT}
        assert await u.contacts.room_peers("a2") == ["a1"]

    async with engine.begin() as conn:
        await conn.run_sync(_migrate("downgrade", "0003_notices"))
    assert await _count(engine, "rooms") == 1
    assert await _count(engine, "room_members") == 1
