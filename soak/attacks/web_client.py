"""The web attacks' clients: httpx bound to a chosen loopback source address, and a room
page's socket (``Page``) that keeps every message it gets.

"Another address" is another loopback source address (127.0.0.2, .3, ...: Linux routes
all of 127/8 to lo), so the per-address limits are met as a client behind its own IP meets
them, without trusting any header."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from soak.server import PASSWORD, Server

OWNER = "owner@soak.example"
PROBLEM = "application/problem+json"


def client(
    server: Server, source: str = "127.0.0.1", token: str | None = None
) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(
        base_url=server.base, transport=transport, headers=headers, timeout=30.0
    )


async def bearer(server: Server, email: str, password: str = PASSWORD) -> str:
    async with client(server) as http:
        answer = await http.post("/api/v1/tokens", json={"email": email, "password": password})
        answer.raise_for_status()
        token: str = answer.json()["token"]
        return token


async def first_room(server: Server, token: str) -> dict[str, Any]:
    async with client(server, token=token) as http:
        answer = await http.get("/api/v1/rooms")
        answer.raise_for_status()
        room: dict[str, Any] = answer.json()[0]
        return room


def ws_url(server: Server, invite_url: str) -> str:
    invite = urlsplit(invite_url).path.rsplit("/", 1)[-1]
    return f"ws://127.0.0.1:{server.http_port}/ws/v1/join/{invite}"


class Page:
    """A room page's socket: every message it receives is kept (and so drained)."""

    def __init__(self, url: str, source: str = "127.0.0.1", token: str | None = None) -> None:
        self.url, self.source, self.token = url, source, token
        self.ws: ClientConnection | None = None
        self.messages: list[dict[str, Any]] = []
        self.reader: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    async def open(self, within: float = 30.0) -> None:
        headers = {"Cookie": f"confero_session={self.token}"} if self.token else None
        self.ws = await websockets.connect(
            self.url,
            additional_headers=headers,
            local_addr=(self.source, 0),
            open_timeout=within,
            max_queue=None,
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                self.messages.append(json.loads(text))
                self._arrived.set()

    async def send(self, **message: Any) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps({"v": 1, **message}))

    async def expect(
        self, match: Callable[[dict[str, Any]], bool], within: float = 15.0
    ) -> dict[str, Any] | None:
        """The first kept message that matches (taken out), waiting up to ``within``."""
        deadline = time.monotonic() + within
        while True:
            for m in self.messages:
                if match(m):
                    self.messages.remove(m)
                    return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.reader is not None and self.reader.done()):
                return None
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def typed(self, type_: str, within: float = 15.0, **fields: Any) -> dict[str, Any] | None:
        return await self.expect(
            lambda m: m.get("type") == type_ and all(m.get(k) == v for k, v in fields.items()),
            within,
        )

    async def closed_code(self, within: float = 10.0) -> int | None:
        """The close code the server sent, or None while the socket stays open."""
        if self.reader is None or self.ws is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.reader), within)
        return self.ws.close_code if self.reader.done() else None

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


@contextlib.asynccontextmanager
async def pages() -> AsyncIterator[list[Page]]:
    opened: list[Page] = []
    try:
        yield opened
    finally:
        await gather_limited([p.close() for p in opened], 100)


async def gather_limited(coros: list[Coroutine[Any, Any, Any]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(c: Coroutine[Any, Any, Any]) -> Any:
        async with gate:
            return await c

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


def served(workdir: Path, name: str, **env: str) -> Server:
    server = Server(workdir / name, env=env)
    server.create_owner(OWNER)
    server.create_room(OWNER, f"Room {name}", 30)
    return server


def log_mentions(server: Server, text: str) -> int:
    try:
        return server.log_path.read_text(errors="replace").count(text)
    except FileNotFoundError:
        return 0


def is_problem(answer: httpx.Response) -> bool:
    return str(answer.headers.get("content-type", "")).startswith(PROBLEM)


async def open_page(url: str, source: str, token: str | None = None) -> tuple[str, Page]:
    """Open one guest socket (``token``: a member's) and say hello: ("room", page)
    accepted, ("4429", page) or another close code refused, ("failed: ...", page) when
    the handshake failed."""
    page = Page(url, source, token)
    try:
        await page.open()
    except Exception as exc:  # every way a handshake can fail is a result
        return f"failed: {type(exc).__name__}", page
    with contextlib.suppress(websockets.ConnectionClosed):
        await page.send(type="hello")  # a refused socket may be closed before this
    first = await page.expect(lambda m: m.get("type") in ("room", "error"), 30)
    if first is not None and first.get("type") == "room":
        return "room", page
    code = await page.closed_code(10)
    return str(code), page
