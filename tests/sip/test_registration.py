"""Registration at a real registrar (Kamailio, tests/e2e/kamailio.py): digest answered,
the binding refreshed at half the granted time within one Call-ID, removed on stop; a
wrong password is not retried in a loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from confero.sip.digest import Credentials
from confero.sip.registration import Registration
from confero.sip.transport import Peer
from confero.sip.ua import UserAgent
from tests.e2e.kamailio import Kamailio
from tests.phone.softphone import FAST
from tests.phone.support import eventually

USER = "pbx"
PASSWORD = "registrar-secret"


@pytest.fixture
async def ua() -> AsyncIterator[UserAgent]:
    agent = UserAgent("127.0.0.1", 0, timers=FAST)
    await agent.start()
    yield agent
    await agent.stop()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_registers_refreshes_at_half_the_granted_time_and_unregisters(
    ua: UserAgent, transport: str
) -> None:
    async with Kamailio(user=USER, password=PASSWORD, algorithm="SHA-256") as registrar:
        peer = Peer(transport, registrar.address)
        registration = Registration(ua, peer, Credentials(USER, PASSWORD), expires=2)
        registration.start()
        try:
            await eventually(lambda: registration.registered, 10)
            assert registration.granted == 2
            # refreshed after ~1 s (half of 2), and again: still registered throughout
            await eventually(lambda: len(registrar.seen("REGISTER")) >= 4, 5)
            assert registration.registered
        finally:
            await registration.stop()
        assert not registration.registered
        seen = registrar.seen("REGISTER")
        assert seen[-1].expires == 0 and seen[-1].auth, "the binding removed, authenticated"
        assert [r.cseq for r in seen] == list(range(1, len(seen) + 1)), "one CSeq space"
        assert "algorithm=SHA-256" in seen[1].auth
        assert registration.last_status == 200


async def test_a_wrong_password_is_retried_only_after_a_pause(ua: UserAgent) -> None:
    async with Kamailio(user=USER, password=PASSWORD) as registrar:
        peer = Peer("UDP", registrar.address)
        registration = Registration(
            ua, peer, Credentials(USER, "wrong"), expires=60, retry_seconds=30
        )
        registration.start()
        try:
            await eventually(lambda: registration.last_status is not None, 10)
            assert registration.last_status == 401 and not registration.registered
            await asyncio.sleep(1)
            assert [r.cseq for r in registrar.seen("REGISTER")] == [1, 2]
        finally:
            await registration.stop()
        assert len(registrar.seen("REGISTER")) == 2, "nothing to remove: no REGISTER on stop"
