"""Shared by the phone tests: a phone stack on the test services (SIP on a free port,
fast SIP timers), a room, helpers to wait for what a caller would notice, and our own
user agent as the trunk that calls out go through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.phone.bridge import PhoneBridge
from confero.phone.stack import PhoneStack
from confero.sip import offer_answer, sdp
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent
from tests.phone.softphone import FAST, HOST, Softphone


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


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    seconds: float = 10,
    *,
    explain: Callable[[], str] | None = None,
) -> None:
    """Until ``check`` holds; else fail, with what ``explain`` says of the state then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(
                "condition not met in time" + (f": {explain()}" if explain is not None else "")
            )
        await asyncio.sleep(0.05)


def people(services: Services, room: Room) -> list[dict[str, object]]:
    return list(services.conferences.snapshot(room).get("participants", []))


async def join(
    phone: PhoneStack, room: Room, pin: str, services: Services, *, sdp_ip: str = HOST
) -> Softphone:
    caller = Softphone(phone.ua.port, sdp_ip=sdp_ip)
    call = await caller.dial("5000")
    assert call.state == "confirmed"
    before = len(people(services, room))
    await caller.press(f"1{room.conference_number}#{pin}##")
    await eventually(
        lambda: len(people(services, room)) == before + 1,
        explain=lambda: where_calls_are(phone, caller),
    )
    return caller


def where_calls_are(phone: PhoneStack, *callers: Softphone) -> str:
    """What the server's calls and the caller got, for a join that failed (a flake in CI
    with media workers, 2026-12-01, not yet understood): keys heard, the leg's last packet,
    which worker mixes its voice menu."""
    now = time.monotonic()
    worker_of = getattr(phone.engine, "worker_of", lambda room: None)
    calls = [
        f"{c.sip.call_id[:8]} {c.sip.state} keys heard {c.keys_heard} "
        f"leg {type(c.leg).__name__} last heard {now - c.leg.last_heard:.1f} s ago "
        f"room {c.room.id[:8] if c.room else None} worker {worker_of(c._engine_room)}"
        for c in phone.bridge.calls
    ]
    heard = [len(caller.heard) for caller in callers]
    return f"the callers heard {heard} frames; the server's calls: {calls}"


async def own_trunk(
    bridge: PhoneBridge, *, refuse: bool = False
) -> tuple[UserAgent, list[SipCall]]:
    """Our own user agent as the bridge's trunk (CONFERO_SIP_TRUNK): it answers every call
    it gets (or refuses it with 486 Busy Here); the calls, in order. Stop it after."""
    trunk = UserAgent("127.0.0.1", 0, timers=FAST)
    await trunk.start(tcp=False)
    bridge.trunk = Peer("UDP", ("127.0.0.1", trunk.port))
    calls: list[SipCall] = []

    def pick_up(call: SipCall) -> None:
        calls.append(call)
        if refuse:
            call.reject(486, "Busy Here")
            return
        offer = sdp.parse(call.remote_sdp.decode())
        answer, _ = offer_answer.answer(
            offer, local_ip="127.0.0.1", local_port=40_002, session_id=1, session_version=1
        )
        call.answer(answer.to_text().encode())

    trunk.on_invite = pick_up
    return trunk, calls


async def callee_joins(trunk: UserAgent, answered: list[SipCall], number: str) -> SipCall:
    """The trunk's first call, to ``number``, is picked up and its person presses 1."""
    await eventually(lambda: bool(answered), 10)
    callee = answered[0]
    assert callee.called == number
    await eventually(lambda: callee.state == "confirmed", 5)
    assert callee.dialog is not None
    press_1 = callee.dialog.request(
        "INFO", body=b"Signal=1\r\nDuration=160\r\n", content_type="application/dtmf-relay"
    )
    assert (await trunk.transactions.request(press_1, callee.dialog.peer).final).status == 200
    return callee
