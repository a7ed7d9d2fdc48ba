"""People: contacts, room members, presence and missed calls (F-WB3, F-WB4, seed 002).

The rule of who is whose contact lives here, pure, so the REST list, the people socket
and the presence pushes agree: the contacts of an account are the accounts it added plus
the co-members of its rooms (owner and members of every room it owns or belongs to),
never itself, never a disabled account. "added" wins over "room" when both hold, since
only an added contact can be removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from confero.domain.accounts import Account
from confero.domain.roles import Role

#: The directory answers a search of at least this many characters (fewer match too much).
MIN_QUERY = 2
#: Longest directory query (an email address is at most 254 characters).
MAX_QUERY = 254
#: The directory's default and largest page of results.
DIRECTORY_LIMIT = 20
MAX_DIRECTORY_LIMIT = 50
#: Missed calls kept per account: the newest; older ones are dropped when a new one comes.
MAX_MISSED = 50


class Presence(StrEnum):
    """What a contact's dot shows: a page of ours open (online), in a meeting (busy)."""

    OFFLINE = "offline"
    ONLINE = "online"
    BUSY = "busy"


class ContactSource(StrEnum):
    """Why an account is on the list: it was added, it shares a room, or a search found it."""

    ADDED = "added"
    ROOM = "room"
    DIRECTORY = "directory"


class MissedKind(StrEnum):
    """A 1:1 call nobody answered, or a "call everyone" that found the account offline."""

    CALL = "call"
    GATHER = "gather"


@dataclass(frozen=True)
class Contact:
    account_id: str
    display_name: str
    email: str
    source: ContactSource


@dataclass(frozen=True)
class Member:
    """One person of a room, as the members list shows it (owner included)."""

    account_id: str
    display_name: str
    email: str
    role: Role
    is_owner: bool


@dataclass(frozen=True)
class MissedCall:
    """Shown on the account's next page until dismissed (F-WB4). ``invite_token`` is set
    for a gather only (its Join link); ``caller_id`` is None once the caller is gone."""

    id: str
    account_id: str
    caller_id: str | None
    caller_name: str
    kind: MissedKind
    room_id: str | None
    room_name: str
    invite_token: str | None
    at: datetime


def _name_key(display_name: str, email: str) -> tuple[str, str]:
    return (display_name.casefold(), email)


def contacts_of(
    account_id: str,
    accounts: Iterable[Account],
    added: Set[str],
    room_peers: Set[str],
) -> list[Contact]:
    """The contact list of ``account_id`` from the candidate ``accounts``, by name."""
    found = [
        Contact(
            a.id,
            a.display_name,
            a.email,
            ContactSource.ADDED if a.id in added else ContactSource.ROOM,
        )
        for a in accounts
        if a.id != account_id and not a.disabled and (a.id in added or a.id in room_peers)
    ]
    return sorted(found, key=lambda c: _name_key(c.display_name, c.email))


def directory_entry(account: Account) -> Contact:
    return Contact(account.id, account.display_name, account.email, ContactSource.DIRECTORY)


def clean_query(q: str) -> str | None:
    """The search text with its whitespace collapsed, in lower case (the store compares
    it with ``lower(name)`` and ``lower(email)``); None when too short to search."""
    cleaned = " ".join(q.split()).lower()[:MAX_QUERY]
    return cleaned if len(cleaned) >= MIN_QUERY else None


def members_of(owner: Account | None, members: Iterable[tuple[Account, Role]]) -> list[Member]:
    """The owner first, then the members by name."""
    listed = sorted(
        (Member(a.id, a.display_name, a.email, role, False) for a, role in members),
        key=lambda m: _name_key(m.display_name, m.email),
    )
    if owner is None:
        return listed
    return [Member(owner.id, owner.display_name, owner.email, Role.MODERATOR, True), *listed]
