"""Contacts, the directory, room members, call rooms and missed calls through the app's
services on the real store (issue 11; F-WB3, F-WB4)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from confero.app.contacts import ContactService
from confero.app.services import Services
from confero.config import Settings
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.people import Contact, ContactSource, MissedKind
from confero.domain.roles import Role
from confero.domain.rooms import RoomKind
from confero.server import build
from tests.clock import FakeClock
from tests.notify.smtp import SmtpSink, smtp_sink  # noqa: F401

PASSWORD = "correct horse battery staple"


@pytest.fixture
def contacts(services: Services) -> ContactService:
    """Built as the composition root builds it (the lead wires it into Services)."""
    return ContactService(services.uow, services.clock)


async def make(services: Services, name: str, email: str | None = None) -> Account:
    address = email or f"{name.split()[0].lower()}@example.org"
    return await services.accounts.create(address, PASSWORD, name)


async def disable(services: Services, *accounts: Account) -> None:
    admin = await services.accounts.create("root@example.org", PASSWORD, "Root", is_admin=True)
    for account in accounts:
        await services.accounts.update(admin, account.id, disabled=True)


def ids(found: list[Contact]) -> list[str]:
    return [c.account_id for c in found]


async def refused(code: str, awaitable: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await awaitable  # type: ignore[misc]
    assert caught.value.code == code, caught.value
    return caught.value


# ------------------------------------------------------------------ the contact list


async def test_contacts_are_co_members_and_added_accounts_never_oneself(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo, dan = [await make(services, n) for n in ("Ann", "bob", "Cleo", "Dan")]
    board = await services.rooms.create(ann, "Board")
    await services.rooms.set_member(ann, board.id, bob.email, "participant")
    await services.rooms.set_member(ann, board.id, cleo.email, "moderator")
    theirs = await services.rooms.create(dan, "Dan's")
    await services.rooms.set_member(dan, theirs.id, cleo.email, "participant")

    assert await contacts.list(ann) == [
        Contact(bob.id, "bob", bob.email, ContactSource.ROOM),
        Contact(cleo.id, "Cleo", cleo.email, ContactSource.ROOM),
    ]
    # Cleo shares a room with each of the others.
    assert ids(await contacts.list(cleo)) == [ann.id, bob.id, dan.id]
    assert await contacts.list(dan) == [Contact(cleo.id, "Cleo", cleo.email, ContactSource.ROOM)]

    added = await contacts.add(dan, contact_id=ann.id)
    assert added == Contact(ann.id, "Ann", ann.email, ContactSource.ADDED)
    assert await contacts.add(dan, email="  ANN@example.org ") == added  # twice: the same
    assert [(c.account_id, c.source) for c in await contacts.list(dan)] == [
        (ann.id, ContactSource.ADDED),
        (cleo.id, ContactSource.ROOM),
    ]
    # Adding is one way: Ann's list stays as it was.
    assert dan.id not in ids(await contacts.list(ann))


async def test_disabled_accounts_drop_out_of_every_list(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo = [await make(services, n) for n in ("Ann", "Bob", "Cleo")]
    board = await services.rooms.create(ann, "Board")
    await services.rooms.set_member(ann, board.id, bob.email, "participant")
    await contacts.add(ann, contact_id=cleo.id)
    await disable(services, bob, cleo)

    assert await contacts.list(ann) == []
    # Only the administrator who disabled them is left to find.
    assert [c.email for c in await contacts.directory(ann, "example")] == ["root@example.org"]
    assert await contacts.watchers_of(bob.id) == set()
    assert not await contacts.is_contact(ann.id, bob.id)
    await refused("contact.invalid", contacts.add(ann, contact_id=bob.id))


async def test_bad_additions_are_refused_and_change_nothing(
    services: Services, contacts: ContactService
) -> None:
    ann, bob = await make(services, "Ann"), await make(services, "Bob")
    await refused("contact.invalid", contacts.add(ann, contact_id=ann.id))
    await refused("contact.invalid", contacts.add(ann, email=ann.email))
    await refused("contact.invalid", contacts.add(ann, contact_id="nobody"))
    await refused("contact.invalid", contacts.add(ann, email="nobody@example.org"))
    await refused("contact.invalid", contacts.add(ann, email="not an address"))
    await refused("contact.invalid", contacts.add(ann))
    await refused("contact.invalid", contacts.add(ann, contact_id=bob.id, email=bob.email))
    assert await contacts.list(ann) == []


async def test_only_added_contacts_can_be_removed(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo = [await make(services, n) for n in ("Ann", "Bob", "Cleo")]
    board = await services.rooms.create(ann, "Board")
    await services.rooms.set_member(ann, board.id, bob.email, "participant")
    await contacts.add(ann, contact_id=bob.id)
    await contacts.add(ann, contact_id=cleo.id)

    await contacts.remove(ann, cleo.id)
    await refused("contact.not_found", contacts.remove(ann, cleo.id))
    # Bob was added and shares a room: removing him leaves the room's link.
    await contacts.remove(ann, bob.id)
    assert [(c.account_id, c.source) for c in await contacts.list(ann)] == [
        (bob.id, ContactSource.ROOM)
    ]
    await refused("contact.not_found", contacts.remove(ann, bob.id))
    await refused("contact.not_found", contacts.remove(ann, "nobody"))


async def test_the_directory_finds_accounts_by_name_or_email_in_any_case(
    services: Services, contacts: ContactService
) -> None:
    ann = await make(services, "Ann")
    lukasz = await make(services, "Łukasz Żak", "lz@firma.pl")
    anna = await make(services, "Anna Nowak", "anna@firma.pl")

    assert await contacts.directory(ann, "") == []
    assert await contacts.directory(ann, " a ") == []  # two characters at least
    found = await contacts.directory(ann, "FIRMA")
    assert ids(found) == [anna.id, lukasz.id]
    assert {c.source for c in found} == {ContactSource.DIRECTORY}
    assert ids(await contacts.directory(ann, "łU")) == [lukasz.id]
    assert ids(await contacts.directory(ann, "anna n")) == [anna.id]
    # Oneself never; the limit still holds without one.
    assert ids(await contacts.directory(ann, "an")) == [anna.id]
    # "Ann" sorts before "Anna" and is left out: a page of one still finds Anna.
    assert ids(await contacts.directory(ann, "an", limit=1)) == [anna.id]


async def test_is_contact_and_watchers_follow_rooms_and_additions(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo, dan = [await make(services, n) for n in ("Ann", "Bob", "Cleo", "Dan")]
    board = await services.rooms.create(ann, "Board")
    await services.rooms.set_member(ann, board.id, bob.email, "participant")
    await contacts.add(cleo, contact_id=ann.id)

    assert await contacts.is_contact(ann.id, bob.id) and await contacts.is_contact(bob.id, ann.id)
    assert await contacts.is_contact(cleo.id, ann.id)
    assert not await contacts.is_contact(ann.id, cleo.id)  # Ann never added Cleo
    assert not await contacts.is_contact(ann.id, dan.id)
    assert not await contacts.is_contact(ann.id, ann.id)
    # Whose pages hear of Ann's presence: who has her on their list.
    assert await contacts.watchers_of(ann.id) == {bob.id, cleo.id}
    assert await contacts.watchers_of(cleo.id) == set()
    assert await contacts.watchers_of("nobody") == set()

    await services.rooms.set_member(ann, board.id, bob.email, None)
    assert not await contacts.is_contact(bob.id, ann.id)
    assert await contacts.watchers_of(ann.id) == {cleo.id}


# ------------------------------------------------------------------ room members


async def test_members_are_visible_to_everyone_with_a_role_and_only_to_them(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo, dan = [await make(services, n) for n in ("Ann", "Bob", "Cleo", "Dan")]
    board = await services.rooms.create(ann, "Board")
    await services.rooms.set_member(ann, board.id, cleo.email, "participant")
    await services.rooms.set_member_by_id(ann, board.id, bob.id, "moderator")

    for viewer in (ann, bob, cleo):
        listed = await contacts.members(viewer, board.id)
        assert [(m.account_id, m.role, m.is_owner) for m in listed] == [
            (ann.id, Role.MODERATOR, True),
            (bob.id, Role.MODERATOR, False),
            (cleo.id, Role.PARTICIPANT, False),
        ]
        assert listed[1].email == bob.email and listed[1].display_name == "Bob"
    await refused("room.not_found", contacts.members(dan, board.id))
    await refused("room.not_found", contacts.members(ann, "nope"))


async def test_moderator_members_edit_members_and_the_owner_stays(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo, dan = [await make(services, n) for n in ("Ann", "Bob", "Cleo", "Dan")]
    board = await services.rooms.create(ann, "Board")
    await services.rooms.set_member_by_id(ann, board.id, bob.id, "moderator")
    await services.rooms.set_member_by_id(ann, board.id, cleo.id, "participant")

    # Bob, a moderator member: adds by id and by email, changes roles, removes.
    room = await services.rooms.set_member_by_id(bob, board.id, dan.id, "participant")
    assert room.members[dan.id] is Role.PARTICIPANT
    room = await services.rooms.set_member(bob, board.id, cleo.email, "moderator")
    assert room.members[cleo.id] is Role.MODERATOR
    room = await services.rooms.set_member_by_id(bob, board.id, dan.id, None)
    assert dan.id not in room.members

    # Nobody removes or demotes the owner.
    await refused(
        "room.owner_is_moderator", services.rooms.set_member_by_id(bob, board.id, ann.id, None)
    )
    await refused(
        "room.owner_is_moderator",
        services.rooms.set_member_by_id(bob, board.id, ann.id, "participant"),
    )
    await refused("room.invalid_role", services.rooms.set_member_by_id(bob, board.id, dan.id, "x"))
    await refused(
        "account.not_found", services.rooms.set_member_by_id(bob, board.id, "nope", "participant")
    )
    # A participant member does not edit members; an outsider does not see the room.
    await services.rooms.set_member_by_id(ann, board.id, cleo.id, "participant")
    await refused(
        "auth.forbidden", services.rooms.set_member_by_id(cleo, board.id, dan.id, "participant")
    )
    await refused(
        "room.not_found", services.rooms.set_member_by_id(dan, board.id, dan.id, "moderator")
    )

    after = await services.rooms.get(ann, board.id)
    assert after.members == {bob.id: Role.MODERATOR, cleo.id: Role.PARTICIPANT}


# ------------------------------------------------------------------ call rooms


async def test_a_call_room_is_private_unlisted_and_unreachable_by_phone(
    services: Services, contacts: ContactService
) -> None:
    ann, bob, cleo = [await make(services, n) for n in ("Ann", "Bob", "Cleo")]
    board = await services.rooms.create(ann, "Board")
    call = await services.rooms.create_call_room(ann, bob)

    assert call.kind is RoomKind.CALL and call.is_call
    assert call.owner_id == ann.id and call.members == {bob.id: Role.MODERATOR}
    assert call.capacity == 2 and call.name == "Ann \u2013 Bob"
    assert call.invite_token != board.invite_token
    assert await services.rooms.get_by_id(call.id) == call
    assert await services.rooms.by_invite_token(call.invite_token) == call
    # Never listed, never found by number, no PIN opens it.
    assert [r.id for r in await services.rooms.list(ann)] == [board.id]
    assert await services.rooms.list(bob) == []
    assert await services.rooms.by_number(call.conference_number) is None
    await refused(
        "access.invalid", services.rooms.access_by_pin(call.conference_number, call.admin_pin, "x")
    )
    # It stays as made: no member changes, no settings, no new link or PINs.
    for change in (
        services.rooms.set_member_by_id(ann, call.id, cleo.id, "participant"),
        services.rooms.set_member_by_id(bob, call.id, ann.id, None),
        services.rooms.update(ann, call.id, capacity=10),
        services.rooms.regenerate_pins(ann, call.id),
        services.rooms.new_invite_link(bob, call.id),
    ):
        await refused("auth.forbidden", change)
    assert await services.rooms.get_by_id(call.id) == call
    # It makes nobody a contact (they were contacts to call at all).
    assert await contacts.list(bob) == []
    # Its owner may still delete it.
    await services.rooms.delete(ann, call.id)
    assert await services.rooms.get_by_id(call.id) is None


async def test_a_call_rooms_name_fits_the_column(services: Services) -> None:
    long_a = await make(services, "A" * 120, "a@example.org")
    long_b = await make(services, "B" * 120, "b@example.org")
    call = await services.rooms.create_call_room(long_a, long_b)
    assert len(call.name) == 120 and call.name.endswith("\u2026")


# ------------------------------------------------------------------ missed calls


async def test_missed_calls_are_kept_until_dismissed(
    services: Services, contacts: ContactService, clock: FakeClock
) -> None:
    ann, bob = await make(services, "Ann"), await make(services, "Bob")
    board = await services.rooms.create(ann, "Board")
    rang = await contacts.record_missed(bob.id, ann, MissedKind.CALL, None)
    clock.advance(timedelta(minutes=1))
    gathered = await contacts.record_missed(bob.id, ann, "gather", board)
    clock.advance(timedelta(minutes=1))
    rung_out = await contacts.record_missed(
        bob.id, kind=MissedKind.CALL, caller_id=ann.id, caller_name="Ann"
    )

    assert (rang.caller_id, rang.caller_name, rang.kind) == (ann.id, "Ann", MissedKind.CALL)
    assert rang.room_id is None and rang.invite_token is None
    assert gathered.kind is MissedKind.GATHER and gathered.room_name == "Board"
    assert gathered.invite_token == board.invite_token
    assert (rung_out.caller_id, rung_out.caller_name) == (ann.id, "Ann")
    assert await contacts.missed(bob.id) == [rung_out, gathered, rang]
    assert await contacts.missed(bob) == [rung_out, gathered, rang]
    assert await contacts.missed(ann.id) == []

    assert await contacts.dismiss_missed(ann.id, rang.id) == 0  # not Ann's
    assert await contacts.dismiss_missed(bob.id, rang.id) == 1
    assert await contacts.dismiss_missed(bob.id, rang.id) == 0  # another tab did it
    assert await contacts.missed(bob.id) == [rung_out, gathered]
    assert await contacts.dismiss_missed(bob, "all") == 2
    assert await contacts.missed(bob.id) == []


async def test_only_the_newest_missed_calls_are_kept(
    services: Services, contacts: ContactService, clock: FakeClock
) -> None:
    from confero.domain.people import MAX_MISSED

    ann, bob = await make(services, "Ann"), await make(services, "Bob")
    first = await contacts.record_missed(bob.id, ann, MissedKind.CALL, None)
    for _ in range(MAX_MISSED):
        clock.advance(timedelta(seconds=1))
        await contacts.record_missed(bob.id, ann, MissedKind.CALL, None)
    kept = await contacts.missed(bob.id)
    assert len(kept) == MAX_MISSED and first not in kept


# ------------------------------------------------------------------ "call everyone" mail


async def test_call_in_mails_each_address_without_the_invite_limit(
    tmp_path: Path,
    clock: FakeClock,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    settings = Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
    )
    services = await build(settings, clock=clock)
    try:
        ann = await make(services, "Ann")
        board = await services.rooms.create(ann, "Board")
        addresses = [f"member{n}@example.org" for n in range(25)]
        planned = await services.notices.call_in(
            board, ann, [*addresses, "MEMBER0@example.org", "not an address"]
        )
        assert planned == 25  # more than "invite a person" allows in 10 minutes
        assert await services.notices.call_in(board, ann, []) == 0
        mails = await smtp_sink.wait_for(25)
        assert sorted(r[0] for r in smtp_sink.recipients) == sorted(addresses)
        body = mails[0].get_body(("plain",))
        assert body is not None and board.invite_token in body.get_content()
    finally:
        await services.close()
