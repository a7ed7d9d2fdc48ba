"""Rooms: conference number, PINs and who gets which role (F-PH1, F-PH4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import (
    BOOKED_CAPACITY,
    DEFAULT_CAPACITY,
    MAX_NAME_LENGTH,
    MAX_PIN_LENGTH,
    MIN_PIN_LENGTH,
    Room,
    RoomKind,
    generate_pins,
    random_digits,
    validate_capacity,
    validate_name,
    validate_pin_length,
)


def room(**kw: object) -> Room:
    fields: dict[str, object] = {
        "id": "room-1",
        "owner_id": "owner",
        "name": "Board",
        "conference_number": "123456",
        "pin": "111111",
        "admin_pin": "999999",
        "invite_token": "tok",
        "created_at": datetime(2026, 11, 2, tzinfo=UTC),
    }
    fields.update(kw)
    return Room(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------- PINs
@pytest.mark.parametrize("length", [MIN_PIN_LENGTH, 6, MAX_PIN_LENGTH])
def test_generate_pins_gives_two_different_digit_pins_of_the_length(length: int) -> None:
    for _ in range(50):
        pin, admin_pin = generate_pins(length)
        assert len(pin) == len(admin_pin) == length
        assert pin.isascii() and pin.isdigit()
        assert admin_pin.isascii() and admin_pin.isdigit()
        assert pin != admin_pin


def test_generate_pins_default_length_is_six() -> None:
    pin, admin_pin = generate_pins()
    assert len(pin) == len(admin_pin) == 6


def test_generated_pins_vary() -> None:
    assert len({generate_pins(8)[0] for _ in range(20)}) > 1


@pytest.mark.parametrize("length", [0, MIN_PIN_LENGTH - 1, MAX_PIN_LENGTH + 1])
def test_pin_length_out_of_range_is_refused(length: int) -> None:
    with pytest.raises(DomainError) as exc:
        generate_pins(length)
    assert exc.value.code == "room.invalid_pin_length"
    with pytest.raises(DomainError):
        validate_pin_length(length)


def test_random_digits() -> None:
    digits = random_digits(30)
    assert len(digits) == 30 and set(digits) <= set("0123456789")
    assert random_digits(0) == ""


def test_admin_pin_makes_a_moderator_and_pin_a_participant() -> None:
    r = room()
    assert r.role_for_pin("999999") is Role.MODERATOR
    assert r.role_for_pin("111111") is Role.PARTICIPANT


@pytest.mark.parametrize("pin", ["", "11111", "1111111", "123456", " 111111", "99999"])
def test_wrong_pin_gives_no_role(pin: str) -> None:
    assert room().role_for_pin(pin) is None


@pytest.mark.parametrize("pin", ["²²²²²²", "١١١١١١", "１１１１１１", "pïn"])  # noqa: RUF001
def test_non_ascii_pin_is_simply_wrong(pin: str) -> None:
    """str.isdigit() accepts these; they must be a wrong PIN, not a crash."""
    assert room().role_for_pin(pin) is None


# --------------------------------------------------------------------- accounts and roles
def test_owner_is_moderator_and_members_get_their_role() -> None:
    r = room(members={"mod": Role.MODERATOR, "mem": Role.PARTICIPANT})
    assert r.role_for_account("owner") is Role.MODERATOR
    assert r.role_for_account("mod") is Role.MODERATOR
    assert r.role_for_account("mem") is Role.PARTICIPANT
    assert r.role_for_account("stranger") is None


def test_owner_listed_as_a_plain_member_is_still_moderator() -> None:
    r = room(members={"owner": Role.PARTICIPANT})
    assert r.role_for_account("owner") is Role.MODERATOR


def test_room_defaults() -> None:
    r = room()
    assert r.capacity == DEFAULT_CAPACITY == 10
    assert BOOKED_CAPACITY == 30
    assert not r.locked and r.allow_self_unmute and not r.mute_on_entry and not r.booked


# --------------------------------------------------------------------- capacity and name
@pytest.mark.parametrize("capacity", [2, 10, 30])
def test_capacity_within_bounds(capacity: int) -> None:
    validate_capacity(capacity, 30)


@pytest.mark.parametrize("capacity", [-1, 0, 1, 31])
def test_capacity_out_of_bounds_is_refused(capacity: int) -> None:
    with pytest.raises(DomainError) as exc:
        validate_capacity(capacity, 30)
    assert exc.value.code == "room.invalid_capacity"
    assert exc.value.context["maximum"] == 30


def test_name_is_trimmed_and_collapsed() -> None:
    assert validate_name("  Weekly \t board\n meeting ") == "Weekly board meeting"
    assert validate_name("x" * MAX_NAME_LENGTH) == "x" * MAX_NAME_LENGTH


@pytest.mark.parametrize("name", ["", "   ", "\n\t", "x" * (MAX_NAME_LENGTH + 1)])
def test_invalid_name_is_refused(name: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_name(name)
    assert exc.value.code == "room.invalid_name"


def test_a_rooms_link_opens_it_to_anyone_a_call_rooms_only_to_its_two() -> None:
    open_room = room(members={"ben": Role.PARTICIPANT})
    assert open_room.open_to(None) and open_room.open_to("stranger")
    call = room(kind=RoomKind.CALL, members={"ben": Role.MODERATOR})
    assert call.open_to("owner") and call.open_to("ben")
    assert not call.open_to("stranger") and not call.open_to(None)
