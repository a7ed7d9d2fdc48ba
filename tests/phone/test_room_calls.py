"""Admission on the phone side (issue 14, Deliver 1): a room takes at most
``CONFERO_SIP_MAX_CALLS_PER_ROOM`` phone calls (the next caller hears that the
conference is full and is hung up), and a caller in the IVR holds no database
connection while the IVR waits for their digits (a flood of silent callers cannot
empty the pool)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.phone.call import PhoneCall
from confero.phone.stack import PhoneStack
from tests.phone.softphone import Softphone
from tests.phone.support import eventually, join, people
from tests.phone.test_bridge import prompts_said


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", http_port=8080, sip_max_calls_per_room=1)


async def test_a_caller_over_the_rooms_phone_cap_hears_it_is_full_and_is_hung_up(
    phone: PhoneStack, room: Room, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert phone.bridge.max_calls_per_room == 1, "wired from the settings"
    said = prompts_said(phone, monkeypatch)
    first = await join(phone, room, room.pin, services)
    second = Softphone(phone.ua.port)
    try:
        call = await second.dial("5000")
        assert call.state == "confirmed"
        await second.press(f"1{room.conference_number}#{room.pin}##")
        await asyncio.wait_for(call.ended.wait(), 20)
        assert call.end_reason == "bye", "the server hung up"
        assert ("conference_full", "goodbye") in said
        assert len(people(services, room)) == 1
        assert phone.bridge.calls_in(room.id) == 1
    finally:
        await second.hangup()
        await first.hangup()


class Checkouts:
    """Connections the calls' tasks (``call-<Call-ID>``) hold right now, seen through
    every SQLAlchemy pool's events (they run in the task that awaits the database)."""

    def __init__(self) -> None:
        self.held: dict[int, str] = {}
        #: every task that checked a connection out
        self.seen: set[str] = set()

    def checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else "?"
        self.held[id(record)] = name
        self.seen.add(name)

    def checkin(self, _dbapi: Any, record: Any) -> None:
        self.held.pop(id(record), None)

    @property
    def by_calls(self) -> int:
        return sum(1 for name in self.held.values() if name.startswith("call-"))


async def test_the_ivr_holds_no_pool_connection_while_it_waits_for_digits(
    phone: PhoneStack, room: Room, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting: list[PhoneCall] = []  # the calls whose IVR waits for digits right now
    collect = PhoneCall.collect

    async def spy(call: PhoneCall, *args: Any, **kwargs: Any) -> str | None:
        waiting.append(call)
        try:
            return await collect(call, *args, **kwargs)
        finally:
            waiting.remove(call)

    monkeypatch.setattr(PhoneCall, "collect", spy)
    pool = Checkouts()
    event.listen(Pool, "checkout", pool.checkout)
    event.listen(Pool, "checkin", pool.checkin)
    callers = [Softphone(phone.ua.port) for _ in range(3)]
    wrong = "".join(str((int(d) + 1) % 10) for d in room.pin)
    try:
        for caller in callers:
            assert (await caller.dial("5000")).state == "confirmed"
            await caller.press(f"1{room.conference_number}#{wrong}#")
        # each call looked its PIN up in the database, was told it is wrong, and now
        # waits in silence for the next try
        await eventually(
            lambda: (
                len(waiting) == 3
                and len({name for name in pool.seen if name.startswith("call-")}) == 3
            ),
            20,
        )
        samples = []
        for _ in range(20):
            samples.append(pool.by_calls if len(waiting) == 3 else -1)
            await asyncio.sleep(0.05)
        assert samples == [0] * 20, "no connection held across the wait for digits"
    finally:
        event.remove(Pool, "checkout", pool.checkout)
        event.remove(Pool, "checkin", pool.checkin)
        for caller in callers:
            await caller.hangup()
