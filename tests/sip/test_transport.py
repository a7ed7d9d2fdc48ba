"""SIP over TCP on both event loops `confero` runs on: asyncio's own (tests) and uvloop
(`confero serve`). Before issue 13 a TCP connection on uvloop was reset at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import uvloop

from confero.sip.message import Response, parse
from confero.sip.transaction import Timers
from confero.sip.ua import UserAgent

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def options(port: int, branch: str) -> bytes:
    return (
        f"OPTIONS sip:bridge@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK{branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:probe@127.0.0.1>;tag=t1\r\n"
        f"To: <sip:bridge@127.0.0.1:{port}>\r\n"
        f"Call-ID: {branch}@probe\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def two_requests_on_one_connection() -> list[int]:
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", ua.transport.port)
        statuses = []
        for branch in ("one", "two"):
            writer.write(options(ua.transport.port, branch))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
            answer = parse(head)
            assert isinstance(answer, Response)
            statuses.append(answer.status)
        writer.close()
        return statuses
    finally:
        await ua.stop()


@pytest.mark.parametrize("loop", LOOPS)
def test_options_over_tcp_is_answered_on_the_same_connection(loop: str) -> None:
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        assert runner.run(two_requests_on_one_connection()) == [200, 200]
