"""Rooms: persistent meeting places with a conference number and two PINs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from confero.domain.errors import DomainError
from confero.domain.roles import Role


class RoomKind(StrEnum):
    """A room of the panel, or the private room of one accepted 1:1 call (F-WB3): never
    listed, not reachable by phone, and only its two accounts may join it."""

    ROOM = "room"
    CALL = "call"


class Language(StrEnum):
    EN = "en"
    NL = "nl"
    DE = "de"
    PL = "pl"


#: A permanent bridge holds 10 by default (seed 001); a booked teleconference up to 30 (seed 004).
DEFAULT_CAPACITY = 10
BOOKED_CAPACITY = 30
DEFAULT_PIN_LENGTH = 6
CONFERENCE_NUMBER_LENGTH = 6
MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12
MAX_NAME_LENGTH = 120


@dataclass
class Room:
    id: str
    owner_id: str
    name: str
    conference_number: str
    pin: str
    admin_pin: str
    invite_token: str
    created_at: datetime
    capacity: int = DEFAULT_CAPACITY
    language: Language = Language.EN
    locked: bool = False
    #: Zoom's "allow participants to unmute themselves": on by default, because phone
    #: callers who cannot unmute after "mute all" is the most common BigBlueButton complaint.
    allow_self_unmute: bool = True
    mute_on_entry: bool = False
    #: A booked room (seed 004) opens only inside one of its reservation windows; a
    #: permanent bridge (seed 001) is always open.
    booked: bool = False
    #: account id -> role the member gets when joining from the panel or browser.
    members: dict[str, Role] = field(default_factory=dict)
    kind: RoomKind = RoomKind.ROOM

    @property
    def is_call(self) -> bool:
        return self.kind is RoomKind.CALL

    def open_to(self, account_id: str | None) -> bool:
        """Whether a holder of the link may see the room's page and content: anyone for
        a room (the link is the key, F-WB1); for a 1:1 call room only its two accounts
        (F-WB3: a third person who has the link learns and joins nothing)."""
        if not self.is_call:
            return True
        return account_id is not None and self.role_for_account(account_id) is not None

    def role_for_pin(self, pin: str) -> Role | None:
        """The admin PIN makes a moderator, the PIN a participant (F-PH1)."""
        # compare bytes: compare_digest refuses str with non-ASCII characters (a TypeError)
        given = pin.encode()
        if secrets.compare_digest(given, self.admin_pin.encode()):
            return Role.MODERATOR
        if secrets.compare_digest(given, self.pin.encode()):
            return Role.PARTICIPANT
        return None

    def role_for_account(self, account_id: str) -> Role | None:
        if account_id == self.owner_id:
            return Role.MODERATOR
        return self.members.get(account_id)


def random_digits(length: int, rng: secrets.SystemRandom | None = None) -> str:
    """Digits from the OS's CSPRNG: PINs and numbers must not be guessable."""
    r = rng or secrets.SystemRandom()
    return "".join(r.choice("0123456789") for _ in range(length))


def generate_pins(length: int = DEFAULT_PIN_LENGTH) -> tuple[str, str]:
    """A participant PIN and a different admin PIN of the same length."""
    validate_pin_length(length)
    pin = random_digits(length)
    admin_pin = random_digits(length)
    while admin_pin == pin:
        admin_pin = random_digits(length)
    return pin, admin_pin


def validate_pin_length(length: int) -> None:
    if not MIN_PIN_LENGTH <= length <= MAX_PIN_LENGTH:
        raise DomainError(
            "room.invalid_pin_length",
            f"PIN length must be between {MIN_PIN_LENGTH} and {MAX_PIN_LENGTH} digits",
        )


def validate_capacity(capacity: int, server_max: int) -> None:
    if not 2 <= capacity <= server_max:
        raise DomainError(
            "room.invalid_capacity",
            f"capacity must be between 2 and {server_max}",
            maximum=server_max,
        )


def validate_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise DomainError("room.invalid_name", f"a room name has 1 to {MAX_NAME_LENGTH} characters")
    return cleaned
