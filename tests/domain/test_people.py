"""Who is whose contact, the members list's order, the directory's query, and room kinds
(issue 11; F-WB3, F-WB4)."""

from __future__ import annotations

from datetime import UTC, datetime

from confero.domain.accounts import Account
from confero.domain.people import (
    MIN_QUERY,
    Contact,
    ContactSource,
    Member,
    Presence,
    clean_query,
    contacts_of,
    directory_entry,
    members_of,
)
from confero.domain.roles import Role
from confero.domain.rooms import Room, RoomKind

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def acct(key: str, name: str, disabled: bool = False) -> Account:
    return Account(key, f"{key}@example.org", name, "x", T0, disabled=disabled)


ME = acct("me", "Me")
ANNA = acct("anna", "anna Nowak")
BOB = acct("bob", "Bob")
CLEO = acct("cleo", "Cleo")
GONE = acct("gone", "Aaron Gone", disabled=True)


def test_contacts_are_added_accounts_and_room_co_members_by_name() -> None:
    found = contacts_of(
        "me",
        [BOB, ANNA, CLEO, ME, GONE],
        added={"bob", "cleo", "gone"},
        room_peers={"anna", "cleo", "me", "gone"},
    )
    assert found == [
        Contact("anna", "anna Nowak", "anna@example.org", ContactSource.ROOM),
        Contact("bob", "Bob", "bob@example.org", ContactSource.ADDED),
        # In a room and added: "added" wins (only an added contact can be removed).
        Contact("cleo", "Cleo", "cleo@example.org", ContactSource.ADDED),
    ]


def test_oneself_disabled_accounts_and_strangers_are_never_contacts() -> None:
    assert contacts_of("me", [ME, GONE, BOB], added={"me", "gone"}, room_peers={"me"}) == []


def test_members_list_the_owner_first_then_by_name() -> None:
    listed = members_of(CLEO, [(BOB, Role.PARTICIPANT), (ANNA, Role.MODERATOR)])
    assert listed == [
        Member("cleo", "Cleo", "cleo@example.org", Role.MODERATOR, True),
        Member("anna", "anna Nowak", "anna@example.org", Role.MODERATOR, False),
        Member("bob", "Bob", "bob@example.org", Role.PARTICIPANT, False),
    ]
    assert members_of(None, [(BOB, Role.PARTICIPANT)])[0].is_owner is False


def test_a_directory_query_needs_two_characters_and_ignores_case_and_spacing() -> None:
    assert MIN_QUERY == 2
    assert clean_query("") is None
    assert clean_query("  a  ") is None
    assert clean_query(" ŁU ") == "łu"
    assert clean_query("Anna   NOWAK") == "anna nowak"
    assert clean_query("x" * 1000) == "x" * 254
    assert directory_entry(BOB).source is ContactSource.DIRECTORY


def test_presence_states_are_the_wire_words() -> None:
    assert [p.value for p in Presence] == ["offline", "online", "busy"]


def test_a_room_is_an_ordinary_room_unless_made_for_a_call() -> None:
    room = Room("r", "me", "Board", "123456", "1111", "2222", "tok", T0)
    assert room.kind is RoomKind.ROOM and not room.is_call
    call = Room("c", "me", "Me and Bob", "654321", "1111", "2222", "tok2", T0, kind=RoomKind.CALL)
    assert call.is_call and call.kind == "call"
