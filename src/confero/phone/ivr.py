"""The dial-in flow of F-PH1 as one async script per call, like an Asterisk dialplan.

shared access number -> "press 1 to join" -> conference number + # -> PIN + # (the admin
PIN makes a moderator) -> reservation window (too early: "starts at HH:MM"; over: "has
ended") -> "say your name after the tone, then press #" -> "there are N participants"
-> join (a locked room: wait with hold music until admitted, denied, or the knock times
out). A room's own number starts at the PIN and, having skipped the welcome, is welcomed
after it, in the room's language (issue 10: both doors greet the caller). In a cluster
(issue 16) a room another node runs is counted there: this menu says no count it does
not know; the node the call is passed on to says it, once (phone/bridge.py).

Wrong PIN: say so and let the caller retry; after 3 failures say goodbye and hang up
(F-PH4). Silence: ask once more, then goodbye. Guessing (issue 14): failures count per
calling number, per source address and per conference number across calls
(``RoomService.access_by_pin``), each failed try waits a growing delay before the next,
and a locked key ends the call. No conference-number oracle: the number is taken
unchecked and the PIN asked for either way, so a wrong number fails at the PIN exactly
as a right number with a wrong PIN does (same prompts, same delays, same lock-outs), and
the room's language is switched to only once the PIN opened it; likewise a direct
number (``number``) is never looked up before the PIN. The script talks to the
call only through ``CallIO`` (play, collect digits, record, hang up), so the same flow
runs over SIP/RTP and in tests with a scripted caller.

What became of the call, for the metrics (issue 18): ``on_pin_failure`` hears each wrong
PIN as it happens, and ``refused`` says why the script gave up at the PIN
(``wrong_pin`` after the last try, ``rate_limited`` at a lock-out); None otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from confero.app.conferences import ConferenceService
from confero.app.rooms import RoomService
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room

# Defined with the prompts so the media side can say them without importing this module.
from confero.media.prompts.speech import SayCount as SayCount
from confero.media.prompts.speech import SayTime as SayTime

log = logging.getLogger(__name__)

MAX_FAILURES = 3
FIRST_DIGIT_TIMEOUT = 10.0
NEXT_DIGIT_TIMEOUT = 5.0
NAME_SECONDS = 5.0


Speech = str | SayCount | SayTime


class CallIO(Protocol):
    caller: str
    #: The language prompts are spoken in; the IVR switches it to the room's.
    language: str

    async def play(self, *items: Speech) -> None:
        """Play prompts in order; digits pressed meanwhile are kept for ``collect``."""
        ...

    async def collect(
        self, max_digits: int, *, terminator: str = "#", first_timeout: float, next_timeout: float
    ) -> str | None:
        """Digits up to the terminator (not included); None when the caller said nothing."""
        ...

    async def record(self, max_seconds: float, *, terminator: str = "#") -> bytes | None: ...

    async def hangup(self) -> None: ...


@dataclass
class Admitted:
    room: Room
    role: Role
    name_recording: bytes | None


class Goodbye(Exception):
    """The call ends here; the prompt explaining why has been played."""


class DialIn:
    def __init__(
        self,
        io: CallIO,
        rooms: RoomService,
        conferences: ConferenceService,
        *,
        shared_number: bool = True,
        room: Room | None = None,
        number: str | None = None,
        address: str | None = None,
        time_zone: tzinfo = UTC,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_pin_failure: Callable[[], None] | None = None,
    ) -> None:
        self.io = io
        self.rooms = rooms
        self.conferences = conferences
        self.shared_number = shared_number
        #: A room's own direct number skips straight to the PIN; it is checked only
        #: together with the PIN (no oracle), so it need not be a room's.
        self.number = number if number is not None else (room.conference_number if room else None)
        #: The caller's network address: guesses count per source too (issue 14).
        self.address = address
        #: Waits the growing delay between failed tries (injected: tests never sleep).
        self.sleep = sleep
        #: Times are spoken as the callers' clocks show them.
        self.time_zone = time_zone
        self.on_pin_failure = on_pin_failure
        #: Why the caller was turned away at the PIN, if they were (see the module).
        self.refused: str | None = None

    async def run(self) -> Admitted | None:
        try:
            return await self._run()
        except Goodbye:
            await self.io.hangup()
            return None

    async def _ask(self, prompt: str, max_digits: int) -> str:
        """Ask, and on silence ask once more before giving up (F-PH4)."""
        for attempt in range(2):
            await self.io.play(*((prompt,) if attempt == 0 else ("are_you_still_there", prompt)))
            digits = await self.io.collect(
                max_digits, first_timeout=FIRST_DIGIT_TIMEOUT, next_timeout=NEXT_DIGIT_TIMEOUT
            )
            if digits is not None:
                return digits
        await self.io.play("goodbye")
        raise Goodbye

    async def _run(self) -> Admitted:
        greeted = self.shared_number and self.number is None
        if greeted:
            for _ in range(MAX_FAILURES):
                if await self._ask("welcome_press_1", 1) == "1":
                    break
            else:
                await self.io.play("goodbye")
                raise Goodbye
        number = self.number if self.number is not None else await self._conference_number()
        room, role = await self._pin(number)
        self.io.language = room.language.value
        if not greeted:
            await self.io.play("welcome")
        await self._window(room)
        await self.io.play("record_name", "beep")
        name = await self.io.record(NAME_SECONDS)
        if await self._runs_here_or_nowhere(room):
            present = len(self.conferences.snapshot(room).get("participants", []))
            await self.io.play(SayCount(present))
        return Admitted(room, role, name)

    async def _runs_here_or_nowhere(self, room: Room) -> bool:
        """Whether this node can count the room's participants (issue 16): another node
        runs it, so the caller is passed on there, and that node says the count."""
        placement = self.conferences.registry.placement
        try:
            owner = await placement.owner(room.id)
        except DomainError:  # the cluster's store out of reach: a count we do not know
            return False
        return owner is None or owner.node_id == placement.this_node.node_id

    async def _conference_number(self) -> str:
        """Whatever the caller typed: checked only with the PIN (no oracle)."""
        return await self._ask("enter_conference_number", 12)

    async def _pin(self, number: str) -> tuple[Room, Role]:
        for attempt in range(MAX_FAILURES):
            pin = await self._ask("enter_pin", 12)
            try:
                return await self.rooms.access_by_pin(
                    number, pin, source=f"phone:{self.io.caller}", address=self.address
                )
            except DomainError as exc:
                if exc.code != "access.invalid":
                    self.refused = "rate_limited"
                    break  # locked: the caller, the source or the room
                log.info("wrong conference number or PIN, try %d of %d", attempt + 1, MAX_FAILURES)
                if self.on_pin_failure is not None:
                    self.on_pin_failure()
                delay = exc.context.get("delay", 0.0)
                if attempt < MAX_FAILURES - 1 and isinstance(delay, int | float) and delay > 0:
                    await self.sleep(float(delay))
                await self.io.play("invalid_pin")
        else:
            self.refused = "wrong_pin"
        await self.io.play("too_many_attempts", "goodbye")
        raise Goodbye

    async def _window(self, room: Room) -> None:
        try:
            await self.conferences.check_open(room)
        except DomainError as exc:
            if exc.code == "conference.too_early":
                starts = datetime.fromisoformat(str(exc.context["starts_at"]))
                local = starts.astimezone(self.time_zone)
                today = self.conferences.now().astimezone(self.time_zone).date()
                await self.io.play(
                    "conference_starts_at", SayTime(local, local.date() != today), "goodbye"
                )
            else:
                await self.io.play("conference_has_ended", "goodbye")
            raise Goodbye from None
