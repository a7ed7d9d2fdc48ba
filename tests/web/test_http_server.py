"""Header and idle timeouts on a served socket (issue 14, web/http_server.py).

The attack run held 500 half-sent HTTP requests open for over a minute. Here uvicorn
serves the app as ``confero serve`` configures it (``server.http_config``, timeouts
shortened by the settings) on a real TCP port, and raw sockets play the slow client:
a connection that sends nothing, half a request line and headers, or half a body is
closed within the bound; a steady client is served as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
import websockets
from fastapi import WebSocket

from confero.app.services import Services
from confero.config import Settings
from confero.server import http_config
from confero.web.app import create_app

TIMEOUT = 0.5
#: The bound plus the loop's slack on a busy CI machine: without the guard the
#: connection stays open for ever (uvicorn's own keep-alive timer starts only after an
#: answer).
DEADLINE = TIMEOUT + 2.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        http_port=_free_port(),
        http_header_timeout=TIMEOUT,
        http_body_timeout=TIMEOUT,
        log_level="warning",
    )


@pytest.fixture
async def served(services: Services, settings: Settings) -> AsyncIterator[int]:
    app = create_app(services, max_body=settings.max_body_kb * 1024)

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)

    app.add_api_websocket_route("/ws/echo", echo)
    config = http_config(app, settings)
    config.lifespan = "off"  # the services fixture closes the services
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task
        await asyncio.sleep(0.02)
    try:
        yield settings.http_port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = time.monotonic()
    data = await asyncio.wait_for(reader.read(), seconds)
    return data, time.monotonic() - start


@contextlib.asynccontextmanager
async def connection(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_a_silent_connection_is_closed(served: int) -> None:
    async with connection(served) as (reader, _writer):
        data, took = await closed_within(reader, DEADLINE)
    assert data == b"" and took >= TIMEOUT * 0.8


async def test_half_sent_headers_are_closed_within_the_bound(served: int) -> None:
    async with connection(served) as (reader, writer):
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
        await writer.drain()
        data, took = await closed_within(reader, DEADLINE)
    assert data == b"", data
    assert took >= TIMEOUT * 0.8


async def test_a_body_that_stops_is_closed_within_the_bound(served: int) -> None:
    async with connection(served) as (reader, writer):
        writer.write(
            b"POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email": '
        )
        await writer.drain()
        data, _took = await closed_within(reader, DEADLINE)
    assert b"200 OK" not in data


async def test_huge_headers_are_refused_431(served: int) -> None:
    async with connection(served) as (reader, writer):
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for i in range(100):
            writer.write(f"X-Pad-{i}: {'a' * 1000}\r\n".encode())
        await writer.drain()
        data, _took = await closed_within(reader, DEADLINE)
    assert data.startswith(b"HTTP/1.1 431 "), data[:200]


async def test_a_33_mb_body_is_refused_before_it_is_sent(served: int) -> None:
    """The answer comes while the client has sent 1 KB of the 33 MB it announced."""
    async with connection(served) as (reader, writer):
        writer.write(
            b"POST /api/v1/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 34603008\r\n\r\n" + b" " * 1024
        )
        await writer.drain()
        data, _took = await closed_within(reader, DEADLINE)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), data[:300]
    assert b"connection: close" in head.lower()
    assert b'"code":"request.too_large"' in body


async def test_a_steady_client_is_served_on_a_kept_alive_connection(served: int) -> None:
    async with connection(served) as (reader, writer):
        for _ in range(2):
            writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), DEADLINE)
            assert status.startswith(b"HTTP/1.1 200 "), status
            length = 0
            while (line := await reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            # Slower than the header bound between requests, faster than the keep-alive.
            await asyncio.sleep(TIMEOUT * 1.5)


async def test_a_websocket_outlives_the_request_timeouts(served: int) -> None:
    """The upgrade leaves the guarded protocol: a quiet socket is not closed by it."""
    async with websockets.connect(f"ws://127.0.0.1:{served}/ws/echo") as socket_:
        await asyncio.sleep(TIMEOUT * 3)
        await socket_.send("still here")
        assert await asyncio.wait_for(socket_.recv(), DEADLINE) == "still here"
