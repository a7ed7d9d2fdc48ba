"""Service-level behaviour that HTTP cannot reach well: guessing PINs on the phone, the
reservation window closing a live conference on time, and bookings racing each other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import insert

from confero.app.services import Services
from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.accounts import Account
from confero.domain.commands import Leave
from confero.domain.errors import DomainError
from confero.domain.reservations import Reservation
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.store.blobs import DirectoryBlobs
from confero.store.models import RoomFileRow
from tests.clock import FakeClock

PASSWORD = "correct horse battery staple"
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

E = TypeVar("E", bound=ev.Event)


@pytest.fixture
async def host(services: Services) -> Account:
    return await services.accounts.create("host@example.org", PASSWORD, "Host")


@pytest.fixture
def events(services: Services) -> list[ev.Event]:
    """Everything published on the bus from now on."""
    seen: list[ev.Event] = []

    async def record(event: ev.Event) -> None:
        seen.append(event)

    services.bus.subscribe(record)
    return seen


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Background tasks (the window timer) run when the loop lets them: wait for them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "the expected change never happened"
        await asyncio.sleep(0.01)


async def settle() -> None:
    """Give background tasks their chance to do something they should not."""
    await asyncio.sleep(0.1)


def of_type(seen: list[ev.Event], kind: type[E]) -> list[E]:
    return [e for e in seen if isinstance(e, kind)]


async def refused(code: str, awaitable: Awaitable[object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await awaitable
    assert caught.value.code == code, caught.value
    return caught.value


def wrong_pins(room: Room, count: int) -> list[str]:
    """PINs of the room's length that open nothing in it."""
    candidates = (str(d) * len(room.pin) for d in range(10))
    return [p for p in candidates if p not in (room.pin, room.admin_pin)][:count]


# ---------------------------------------------------------------- PIN access (F-PH1)


async def test_the_pins_open_the_room_with_their_roles(services: Services, host: Account) -> None:
    room = await services.rooms.create(host, "Bridge")
    found, role = await services.rooms.access_by_pin(room.conference_number, room.pin, "+3120")
    assert (found.id, role) == (room.id, Role.PARTICIPANT)
    found, role = await services.rooms.access_by_pin(
        room.conference_number, room.admin_pin, "+3120"
    )
    assert (found.id, role) == (room.id, Role.MODERATOR)


async def test_wrong_number_and_wrong_pin_sound_the_same(services: Services, host: Account) -> None:
    room = await services.rooms.create(host, "Bridge")
    other = await services.rooms.create(host, "Other bridge")
    [wrong_pin] = wrong_pins(room, 1)
    attempts = [
        (room.conference_number, wrong_pin),  # a real number, a wrong PIN
        ("000000", room.pin),  # a number that does not exist (never starts with 0)
        (other.conference_number, room.pin),  # another room's number
        ("12ab", room.pin),
        (room.conference_number, ""),
    ]
    details: set[str] = set()
    for number, pin in attempts:
        error = await refused(
            "access.invalid", services.rooms.access_by_pin(number, pin, f"c{pin}")
        )
        details.add(error.detail)
    assert len(details) == 1


async def test_five_wrong_pins_from_one_caller_block_the_sixth_attempt(
    services: Services, host: Account, clock: FakeClock
) -> None:
    room = await services.rooms.create(host, "Bridge")
    number = room.conference_number
    guesses = [*wrong_pins(room, 4), "not-digits"]
    for guess in guesses:
        await refused("access.invalid", services.rooms.access_by_pin(number, guess, "+31205550000"))

    # The right PIN is refused too now: guessing cannot be told apart from knowing.
    blocked = await refused(
        "auth.rate_limited", services.rooms.access_by_pin(number, room.pin, "+31205550000")
    )
    retry_after = blocked.context["retry_after"]
    assert isinstance(retry_after, int) and 0 < retry_after <= 601
    # Another caller is not affected.
    _, role = await services.rooms.access_by_pin(number, room.pin, "+31205559999")
    assert role is Role.PARTICIPANT

    clock.advance(timedelta(minutes=10) - SECOND)
    await refused(
        "auth.rate_limited", services.rooms.access_by_pin(number, room.admin_pin, "+31205550000")
    )
    clock.advance(SECOND)
    _, role = await services.rooms.access_by_pin(number, room.admin_pin, "+31205550000")
    assert role is Role.MODERATOR


# ------------------------------------------------------- the reservation window (F-RS4)


async def booked_and_joined(
    services: Services, host: Account, clock: FakeClock
) -> tuple[Reservation, Room, str]:
    start = clock.now() + HOUR
    reservation, room = await services.reservations.book(host, start, start + HOUR)
    clock.set(start)
    pid, _ = await services.conferences.join(
        room,
        display_name="Caller",
        role=Role.PARTICIPANT,
        channel="phone",
        identity="caller:+31205550000",
    )
    assert services.registry.get(room.id) is not None
    return reservation, room, pid


async def test_the_window_warns_five_minutes_before_its_end_then_closes(
    services: Services, host: Account, clock: FakeClock, events: list[ev.Event]
) -> None:
    reservation, room, pid = await booked_and_joined(services, host, clock)

    clock.set(reservation.end - 5 * MINUTE - SECOND)
    await settle()
    assert of_type(events, ev.WindowClosing) == []

    clock.set(reservation.end - 5 * MINUTE)
    await eventually(lambda: bool(of_type(events, ev.WindowClosing)))
    [warning] = of_type(events, ev.WindowClosing)
    assert warning.room_id == room.id
    assert pid in warning.audience
    assert datetime.fromisoformat(warning.ends_at) == reservation.end
    assert services.registry.get(room.id) is not None

    clock.set(reservation.end - SECOND)
    await settle()
    assert services.registry.get(room.id) is not None
    assert of_type(events, ev.ConferenceEnded) == []

    clock.set(reservation.end)
    await eventually(lambda: services.registry.get(room.id) is None)
    [ended] = of_type(events, ev.ConferenceEnded)
    assert ended.reason == "window_closed"
    assert pid in ended.audience
    assert len(of_type(events, ev.WindowClosing)) == 1
    await refused(
        "conference.window_ended",
        services.conferences.join(
            room, display_name="Late", role=Role.PARTICIPANT, channel="phone", identity="late"
        ),
    )


async def test_a_jump_past_the_end_still_closes_the_conference(
    services: Services, host: Account, clock: FakeClock, events: list[ev.Event]
) -> None:
    reservation, room, _ = await booked_and_joined(services, host, clock)
    clock.set(reservation.end + HOUR)
    await eventually(lambda: services.registry.get(room.id) is None)
    assert [e.reason for e in of_type(events, ev.ConferenceEnded)] == ["window_closed"]


async def test_extending_a_running_reservation_moves_the_close(
    services: Services, host: Account, clock: FakeClock, events: list[ev.Event]
) -> None:
    reservation, room, _ = await booked_and_joined(services, host, clock)
    new_end = reservation.end + HOUR
    await services.reservations.update(host, reservation.id, end=new_end)

    clock.set(reservation.end)
    await settle()
    assert services.registry.get(room.id) is not None, "closed at the old end"
    assert of_type(events, ev.ConferenceEnded) == []

    clock.set(new_end - 5 * MINUTE)
    await eventually(lambda: bool(of_type(events, ev.WindowClosing)))
    assert [datetime.fromisoformat(w.ends_at) for w in of_type(events, ev.WindowClosing)] == [
        new_end
    ]
    clock.set(new_end)
    await eventually(lambda: services.registry.get(room.id) is None)
    assert [e.reason for e in of_type(events, ev.ConferenceEnded)] == ["window_closed"]


async def test_shortening_a_running_reservation_closes_it_at_the_new_end(
    services: Services, host: Account, clock: FakeClock, events: list[ev.Event]
) -> None:
    reservation, room, _ = await booked_and_joined(services, host, clock)
    new_end = reservation.start + 30 * MINUTE
    await services.reservations.update(host, reservation.id, end=new_end)

    clock.set(new_end - 5 * MINUTE)
    await eventually(lambda: bool(of_type(events, ev.WindowClosing)))
    clock.set(new_end)
    await eventually(lambda: services.registry.get(room.id) is None)
    assert [e.reason for e in of_type(events, ev.ConferenceEnded)] == ["window_closed"]


async def test_within_the_window_a_new_conference_starts_with_the_same_access_data(
    services: Services, host: Account, clock: FakeClock
) -> None:
    _, room, pid = await booked_and_joined(services, host, clock)
    first = services.registry.get(room.id)
    assert first is not None
    await first.send(Leave(by=pid))
    await eventually(lambda: services.registry.get(room.id) is None)

    clock.advance(10 * MINUTE)
    same_room, role = await services.rooms.access_by_pin(
        room.conference_number, room.pin, "+31205550000"
    )
    assert same_room.id == room.id and role is Role.PARTICIPANT
    await services.conferences.join(
        same_room, display_name="Caller", role=role, channel="phone", identity="caller:again"
    )
    second = services.registry.get(room.id)
    assert second is not None and second.conference.id != first.conference.id


# ------------------------------------------------------------- racing bookings (F-RS2)


async def test_simultaneous_bookings_never_pass_three(
    services: Services, host: Account, clock: FakeClock
) -> None:
    start = clock.now() + timedelta(days=1)
    outcomes = await asyncio.gather(
        *(
            services.reservations.book(host, start + n * HOUR, start + n * HOUR + MINUTE)
            for n in range(8)
        ),
        return_exceptions=True,
    )
    made = [o for o in outcomes if isinstance(o, tuple)]
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(made) == 3
    assert len(failures) == 5
    assert all(
        isinstance(f, DomainError) and f.code == "reservation.limit_reached" for f in failures
    )
    assert len(await services.reservations.list(host)) == 3
    # No room was left behind by a refused booking.
    rooms = await services.rooms.list(host)
    assert sorted(r.id for r in rooms) == sorted(room.id for _, room in made)


async def test_resetting_one_room_leaves_other_rooms_content_alone(
    services: Services, host: Account
) -> None:
    room = await services.rooms.create(host, "Bridge")
    other = await services.rooms.create(host, "Other")
    await services.rooms.post_chat(room, "Host", "to be wiped", host.id)
    await services.rooms.post_chat(other, "Host", "to be kept", host.id)
    await services.rooms.reset_content(room.id, None)
    assert await services.rooms.list_chat(room.id) == []
    assert [m.text for m in await services.rooms.list_chat(other.id)] == ["to be kept"]


async def test_after_a_reset_the_log_holds_only_the_reset_and_who_did_it(
    services: Services, host: Account, tmp_path: Path
) -> None:
    """Seed 000: Reset wipes chat and the participant activity; what remains says when
    and by whom. The bytes of files and recordings go after their rows."""
    blobs = DirectoryBlobs(tmp_path / "files")
    services.room_state.blobs = blobs

    async def chunks() -> AsyncIterator[bytes]:
        yield b"bytes of a shared file"

    key, _ = await blobs.write(chunks(), max_bytes=100)
    room = await services.rooms.create(host, "Bridge")
    async with services.uow() as u:
        await u.content._s.execute(  # type: ignore[attr-defined]
            insert(RoomFileRow).values(
                id="f1",
                room_id=room.id,
                name="a.txt",
                media_type="text/plain",
                size=22,
                blob=key,
                uploader_id=host.id,
                uploader_name="Host",
                created_at=services.clock.now(),
            )
        )
        await u.commit()
    pid, _ = await services.conferences.join(
        room, display_name="Host", role=Role.MODERATOR, channel="browser", identity="host"
    )
    await services.rooms.post_chat(room, "Host", "to be wiped", host.id)
    await services.conferences.command(room, c.Reset(by=pid, confirm=True))
    await services.bus.drain()
    log = await services.rooms.list_activity(room.id)
    assert [(a.kind, a.actor) for a in log] == [("room_reset", pid)]
    assert await services.rooms.list_chat(room.id) == []
    assert not blobs.path(key).exists()
