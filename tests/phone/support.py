"""Shared by the phone tests: a phone stack on the test services (SIP on a free port,
fast SIP timers), a room, and helpers to wait for what a caller would notice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.phone.stack import PhoneStack
from tests.phone.softphone import FAST, Softphone


@pytest.fixture
async def phone(services: Services, settings: Settings) -> AsyncIterator[PhoneStack]:
    settings = settings.model_copy(update={"sip_port": 0, "access_number": "5000"})
    stack = PhoneStack.build(services, settings)
    stack.ua.transactions.timers = FAST
    await stack.start()
    yield stack
    await stack.stop()
    assert stack.bridge.tasks == 0, "every call's task ended"
    assert stack.engine.leg_count() == 0, "every RTP leg left the mixer"
    assert stack.ua.transactions.pending == 0, "no transaction left behind"


@pytest.fixture
async def room(services: Services) -> Room:
    owner = await services.accounts.create("host@example.org", "long-secret", "Host")
    return await services.rooms.create(owner, "Board")


async def eventually(check: Callable[[], bool | Awaitable[bool]], seconds: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def people(services: Services, room: Room) -> list[dict[str, object]]:
    return list(services.conferences.snapshot(room).get("participants", []))


async def join(phone: PhoneStack, room: Room, pin: str, services: Services) -> Softphone:
    caller = Softphone(phone.ua.port)
    call = await caller.dial("5000")
    assert call.state == "confirmed"
    before = len(people(services, room))
    await caller.press(f"1{room.conference_number}#{pin}##")
    await eventually(lambda: len(people(services, room)) == before + 1)
    return caller
