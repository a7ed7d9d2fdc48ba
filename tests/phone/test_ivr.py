"""The dial-in flow (F-PH1, F-PH4, F-RS3) with a scripted caller against the real
services on SQLite: what the caller hears, in order, and where the call ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from confero.app.placement import LocalPlacement, NodeInfo
from confero.app.ratelimit import GuessGuard, GuessPolicy
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
    #: The language each prompt was spoken in.
    spoken_in: list[str] = field(default_factory=list)
    #: The delays the IVR waited between tries (its injected sleep).
    waited: list[float] = field(default_factory=list)
    hung_up: bool = False

    async def play(self, *items: Speech) -> None:
        self.heard.extend(items)
        self.spoken_in.extend(self.language for _ in items)

    async def sleep(self, seconds: float) -> None:
        self.waited.append(seconds)

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
    if isinstance(io, ScriptedCaller):
        kw.setdefault("sleep", io.sleep)
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


async def test_no_count_for_a_room_another_node_runs(services: Services) -> None:
    """Issue 16: this node's registry has nobody of a room node b runs; saying "you are
    the first" would be wrong. The caller is passed on to b, which says the count."""
    _owner, room = await setup(services)
    elsewhere = NodeInfo("b", "http://node-b:8080", "127.0.0.1", 5071, "127.0.0.1")
    services.registry.placement = _RunsOn(elsewhere)
    io = ScriptedCaller([room.conference_number, room.pin])
    admitted = await dial(services, io, room=None, shared_number=False).run()
    assert admitted is not None
    assert io.heard[-2:] == ["record_name", "beep"], "no count it does not know"
    assert not any(isinstance(item, SayCount) for item in io.heard)


class _RunsOn(LocalPlacement):
    """The cluster says another node runs every room."""

    def __init__(self, owner: NodeInfo) -> None:
        super().__init__()
        self.owner_node = owner

    async def owner(self, room_id: str) -> NodeInfo | None:
        return self.owner_node


async def test_three_wrong_pins_say_goodbye_and_hang_up(services: Services) -> None:
    _, room = await setup(services)
    io = ScriptedCaller(["1", room.conference_number, "000000", "111", "999999", room.pin])
    assert await dial(services, io).run() is None
    assert io.heard.count("invalid_pin") == 3
    assert io.heard[-2:] == ["too_many_attempts", "goodbye"] and io.hung_up


async def test_a_wrong_number_fails_at_the_pin_exactly_like_a_wrong_pin(
    services: Services,
) -> None:
    """No conference-number oracle (issue 14): a number nobody has gets the PIN prompt
    and fails there with the same prompts, languages and delays as a real (Polish)
    room's number followed by wrong PINs."""
    owner, _ = await setup(services)
    room = await services.rooms.create(owner, "Zarząd", language="pl")
    wrong = [p for p in ("111111", "222222", "333333", "444444") if p != room.pin][:3]
    unknown = "999999" if room.conference_number != "999999" else "888888"
    real = ScriptedCaller(["1", room.conference_number, *wrong], caller="+31200000001")
    fake = ScriptedCaller(["1", unknown, *wrong], caller="+31200000002")
    for io in (real, fake):
        assert (
            await dial(services, io, address="192.0.2.1" if io is real else "192.0.2.2").run()
            is None
        )
    assert fake.heard == real.heard
    assert real.heard == [
        "welcome_press_1",
        "enter_conference_number",
        *["enter_pin", "invalid_pin"] * 3,
        "too_many_attempts",
        "goodbye",
    ]
    assert fake.spoken_in == real.spoken_in == ["en"] * len(real.heard)
    assert fake.waited == real.waited == [1.0]  # a growing delay between tries, same for both
    assert "invalid_conference_number" not in real.heard


async def test_a_rooms_own_number_is_not_looked_up_before_the_pin(services: Services) -> None:
    """A direct number that is nobody's sounds like a room's with a wrong PIN."""
    owner, _ = await setup(services)
    room = await services.rooms.create(owner, "Vorstand", language="de")
    unknown = "999999" if room.conference_number != "999999" else "888888"
    ios = [ScriptedCaller(["123", "456", "789"], caller=f"+3120000000{n}") for n in range(2)]
    for io, number in zip(ios, (room.conference_number, unknown), strict=True):
        assert await dial(services, io, number=number, shared_number=False).run() is None
    assert ios[0].heard == ios[1].heard and ios[0].spoken_in == ios[1].spoken_in
    assert ios[0].heard[0] == "enter_pin" and set(ios[0].spoken_in) == {"en"}


async def test_guessing_waits_longer_after_each_failure_until_the_caller_is_locked(
    services: Services,
) -> None:
    _, room = await setup(services)
    first = ScriptedCaller(["1", room.conference_number, "1", "2", "3"])
    await dial(services, first).run()
    second = ScriptedCaller(["1", room.conference_number, "4", "5", room.pin])
    assert await dial(services, second).run() is None
    assert first.waited == [1.0]  # failures 1, 2, 3: none, 1 s, (hang up)
    assert second.waited == [4.0, 8.0]  # failures 4, 5 (the fifth locks the caller)
    assert second.heard[-2:] == ["too_many_attempts", "goodbye"]


async def test_pin_guessing_is_limited_per_source_address_whatever_the_caller_id(
    services: Services,
) -> None:
    """The attack of issue 14: a new From number per call. The source address counts too
    (unless it is a trusted proxy), and the room itself is not locked by it yet."""
    services.rooms.guesses = GuessGuard(
        GuessPolicy(per_source=6, per_room=100, trusted_proxies=("10.0.0.0/8",))
    )
    _, room = await setup(services)
    for n in range(2):  # 6 wrong PINs from one address with two caller ids
        io = ScriptedCaller(["1", room.conference_number, "1", "2", "3"], caller=f"+3120{n}")
        await dial(services, io, address="203.0.113.9").run()
    right = ScriptedCaller(["1", room.conference_number, room.pin], caller="+31209")
    assert await dial(services, right, address="203.0.113.9").run() is None
    assert right.heard[-2:] == ["too_many_attempts", "goodbye"]
    elsewhere = ScriptedCaller(["1", room.conference_number, room.pin], caller="+31209")
    assert await dial(services, elsewhere, address="198.51.100.1").run() is not None

    # Behind a trusted proxy every call comes from its address: only callers count.
    for n in range(3):
        io = ScriptedCaller(["1", room.conference_number, "1", "2", "3"], caller=f"+3130{n}")
        await dial(services, io, address="10.1.2.3").run()
    proxied = ScriptedCaller(["1", room.conference_number, room.pin], caller="+31309")
    assert await dial(services, proxied, address="10.1.2.3").run() is not None


async def test_a_room_under_attack_locks_until_its_owner_lifts_the_lock(
    services: Services, clock: FakeClock
) -> None:
    owner, room = await setup(services)
    other = await services.rooms.create(owner, "Other")
    for n in range(4):  # 12 wrong PINs, each call from its own address and caller id
        io = ScriptedCaller(["1", room.conference_number, "1", "2", "3"], caller=f"+4{n}")
        await dial(services, io, address=f"198.51.100.{n}").run()
    until = await services.rooms.pin_locked_until(owner, room.id)
    assert until is not None and until > clock.now()

    right = ScriptedCaller(["1", room.conference_number, room.pin], caller="+4999")
    assert await dial(services, right, address="192.0.2.99").run() is None
    assert right.heard[-2:] == ["too_many_attempts", "goodbye"]
    ok = ScriptedCaller(["1", other.conference_number, other.pin], caller="+4999")
    assert await dial(services, ok, address="192.0.2.99").run() is not None

    await services.rooms.lift_pin_lockout(owner, room.id)
    assert await services.rooms.pin_locked_until(owner, room.id) is None
    again = ScriptedCaller(["1", room.conference_number, room.pin], caller="+4999")
    assert await dial(services, again, address="192.0.2.99").run() is not None


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


async def test_each_wrong_pin_is_told_and_why_the_caller_was_turned_away(
    services: Services,
) -> None:
    """Issue 18's counters: every wrong PIN as it happens, and the reason at the end
    (wrong_pin after the last try, rate_limited at a lock-out, None when admitted)."""
    _, room = await setup(services)
    failures: list[str] = []
    io = ScriptedCaller(["1", room.conference_number, "000000", "111", "999999"])
    script = dial(services, io, on_pin_failure=lambda: failures.append("x"))
    assert await script.run() is None
    assert (len(failures), script.refused) == (3, "wrong_pin")
    locked = dial(services, ScriptedCaller(["1", room.conference_number, room.pin]))
    for _ in range(2):  # more failures from this number: it is locked out now
        await dial(services, ScriptedCaller(["1", room.conference_number, "1", "2", "3"])).run()
    assert await locked.run() is None
    assert locked.refused == "rate_limited"
    welcome = dial(services, ScriptedCaller(["1", room.conference_number, room.pin], caller="+4"))
    assert await welcome.run() is not None
    assert welcome.refused is None
