"""The dial-in flow (F-PH1, F-PH4, F-RS3) with a scripted caller against the real
services on SQLite: what the caller hears, in order, and where the call ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.phone.ivr import CallIO, DialIn, SayCount, SayTime, Speech
from tests.clock import FakeClock


@dataclass
class ScriptedCaller:
    """Answers each ``collect`` with the next scripted entry (None = silence)."""

    answers: list[str | None]
    caller: str = "+31201234567"
    language: str = "en"
    heard: list[Speech] = field(default_factory=list)
    hung_up: bool = False

    async def play(self, *items: Speech) -> None:
        self.heard.extend(items)

    async def collect(
        self,
        max_digits: int,
        *,
        terminator: str = "#",
        first_timeout: float,
        next_timeout: float,
    ) -> str | None:
        return self.answers.pop(0) if self.answers else None

    async def record(self, max_seconds: float, *, terminator: str = "#") -> bytes | None:
        return b"my-name"

    async def hangup(self) -> None:
        self.hung_up = True


async def setup(services: Services) -> tuple[Account, Room]:
    owner = await services.accounts.create("host@example.org", "long-secret")
    room = await services.rooms.create(owner, "Board")
    return owner, room


def dial(services: Services, io: CallIO, **kw: object) -> DialIn:
    return DialIn(io, services.rooms, services.conferences, **kw)  # type: ignore[arg-type]


async def test_right_number_and_pin_reach_the_conference(services: Services) -> None:
    _, room = await setup(services)
    io = ScriptedCaller(["1", room.conference_number, room.pin])
    admitted = await dial(services, io).run()
    assert admitted is not None and admitted.role is Role.PARTICIPANT
    assert admitted.name_recording == b"my-name"
    assert io.heard == [
        "welcome_press_1",
        "enter_conference_number",
        "enter_pin",
        "record_name",
        "beep",
        SayCount(0),
    ]
    assert not io.hung_up


async def test_admin_pin_makes_a_moderator_and_the_room_sets_the_language(
    services: Services,
) -> None:
    owner, _ = await setup(services)
    room = await services.rooms.create(owner, "Zarząd", language="pl")
    io = ScriptedCaller(["1", room.conference_number, room.admin_pin])
    admitted = await dial(services, io).run()
    assert admitted is not None and admitted.role is Role.MODERATOR
    assert io.language == "pl"


async def test_count_tells_how_many_are_already_there(services: Services) -> None:
    _owner, room = await setup(services)
    for n in range(2):
        await services.conferences.join(
            room, display_name=f"P{n}", role=Role.PARTICIPANT, channel="api", identity=f"i{n}"
        )
    io = ScriptedCaller([room.conference_number, room.pin])
    await dial(services, io, room=None, shared_number=False).run()
    assert io.heard[-1] == SayCount(2)


async def test_three_wrong_pins_say_goodbye_and_hang_up(services: Services) -> None:
    _, room = await setup(services)
    io = ScriptedCaller(["1", room.conference_number, "000000", "111", "999999", room.pin])
    assert await dial(services, io).run() is None
    assert io.heard.count("invalid_pin") == 3
    assert io.heard[-2:] == ["too_many_attempts", "goodbye"] and io.hung_up


async def test_wrong_number_can_be_retried(services: Services) -> None:
    _, room = await setup(services)
    io = ScriptedCaller(["1", "999", room.conference_number, room.pin])
    assert await dial(services, io).run() is not None
    assert io.heard.count("invalid_conference_number") == 1


async def test_silence_asks_again_then_goodbye(services: Services) -> None:
    io = ScriptedCaller([None, None])
    await setup(services)
    assert await dial(services, io).run() is None
    assert (
        io.heard
        == [
            "welcome_press_1",
            "are_you_still_there",
            "welcome_press_1",
            "goodbye",
        ]
        and io.hung_up
    )


async def test_pin_guessing_is_limited_across_calls_from_one_number(services: Services) -> None:
    _, room = await setup(services)
    for _ in range(2):  # 2 calls x 3 wrong PINs > 5 failures per 10 minutes
        await dial(services, ScriptedCaller(["1", room.conference_number, "1", "2", "3"])).run()
    io = ScriptedCaller(["1", room.conference_number, room.pin])
    assert await dial(services, io).run() is None
    assert io.heard[-2:] == ["too_many_attempts", "goodbye"]
    other = ScriptedCaller(["1", room.conference_number, room.pin], caller="+48111222333")
    assert await dial(services, other).run() is not None


async def test_booked_room_too_early_says_when_and_after_the_end_says_ended(
    services: Services, clock: FakeClock
) -> None:
    owner, _ = await setup(services)
    start = clock.now() + timedelta(hours=2)
    _, room = await services.reservations.book(owner, start, start + timedelta(hours=1))
    io = ScriptedCaller(["1", room.conference_number, room.pin])
    assert await dial(services, io).run() is None
    assert io.heard[-2:] == [SayTime(start, False), "goodbye"]
    assert "conference_starts_at" in io.heard

    clock.advance(timedelta(hours=1, minutes=55))  # 5 minutes early: open
    assert await dial(services, ScriptedCaller(["1", room.conference_number, room.pin])).run()

    clock.advance(timedelta(hours=2))
    io = ScriptedCaller(["1", room.conference_number, room.pin])
    assert await dial(services, io).run() is None
    assert io.heard[-2:] == ["conference_has_ended", "goodbye"]


async def test_a_rooms_own_number_is_welcomed_after_the_pin_in_the_rooms_language(
    services: Services,
) -> None:
    """Both doors greet: the access number before "press 1", a room's own number (which
    starts at the PIN) right after the PIN, once the room's language is known."""
    owner, _ = await setup(services)
    room = await services.rooms.create(owner, "Vorstand", language="de")
    io = ScriptedCaller([room.pin])
    admitted = await dial(services, io, room=room, shared_number=False).run()
    assert admitted is not None and io.language == "de"
    assert io.heard == ["enter_pin", "welcome", "record_name", "beep", SayCount(0)]
