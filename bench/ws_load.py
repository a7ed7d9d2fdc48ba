"""The load client of ``bench.ws_fanout``: N WebSockets in one process, each timing the
arrival of every event it receives.

Lean on purpose, so that what is timed is the server's fan-out and not this client's
Python: a WebSocket is a bare ``asyncio.Protocol`` on uvloop (the handshake, masked
client frames, unmasked server frames, pong, close; no permessage-deflate is offered,
so the server's frames are plain). ``data_received`` takes the clock once per read and
keeps the frames of interest as bytes with that time; nothing is parsed as JSON until
the orchestrator asks for the report. Times are ``CLOCK_MONOTONIC``, which is one clock
for every process of the machine, so they compare with the orchestrator's send times.

Two modes:

* ``--confero``: each socket speaks the room page's signaling (docs/SIGNALING.md):
  ``hello`` -> ``room``, ``join`` with a name -> ``welcome``, then stays open; the
  frames kept are the ``chat_posted``, ``mute_changed`` and ``all_mute_changed`` events.
* plain (the baseline, ``bench.ws_baseline``): every text frame after the connect is
  kept.

Protocol with the orchestrator: JSON lines on stdout (``ready`` with the participant
ids once every socket is open and joined, ``report`` in answer to ``report`` on stdin:
for every socket the list of ``[key, time]`` of the frames kept, where ``key`` is the
chat text or the muted participant's id, or the baseline frame's text), ``quit`` or the
end of stdin closes everything and exits.

Usage: python -m bench.ws_load URL --sockets 1000 [--confero] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import struct
import sys
import time
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop

CLOCK = time.CLOCK_MONOTONIC
#: Byte strings that mark the frames a ``--confero`` socket keeps.
KEPT = (b'"chat_posted"', b'"mute_changed"', b'"all_mute_changed"')


def now() -> float:
    return time.clock_gettime(CLOCK)


def _emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 5.3); a zero mask keeps the payload as it is."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


class WebSocket(asyncio.Protocol):
    def __init__(self, host: str, path: str, keep_all: bool) -> None:
        self.host = host
        self.path = path
        self.keep_all = keep_all
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.messages: asyncio.Queue[bytes] = asyncio.Queue()
        #: After ``arm``: the frames of interest, with the time of the read that completed them.
        self.kept: list[tuple[float, bytes]] = []
        self.armed = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        t = now()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                self.opened.set_exception(RuntimeError(status.decode(errors="replace")))
                return
            self.upgraded = True
            self.opened.set_result(None)
        self._frames(t)

    def _frames(self, t: float) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
            at = 2
            if n == 126:
                if len(buf) < 4:
                    return
                (n,) = struct.unpack_from("!H", buf, 2)
                at = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                (n,) = struct.unpack_from("!Q", buf, 2)
                at = 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            if opcode == 0x9:  # ping
                self.send(0xA, payload)
            elif opcode == 0x8:  # close
                self.closed = True
                if self.transport is not None:
                    self.transport.close()
            elif opcode == 0x1:
                if self.armed:
                    if self.keep_all or any(k in payload for k in KEPT):
                        self.kept.append((t, payload))
                else:
                    self.messages.put_nowait(payload)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the upgrade"))

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    def send_json(self, **message: Any) -> None:
        self.send(0x1, json.dumps({"v": 1, **message}).encode())

    async def expect(self, *types: str) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.messages.get(), 120)
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") in types:
                return message
            if message.get("type") == "error":
                raise RuntimeError(f"server: {message}")

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.send(0x8, struct.pack("!H", 1000))
            self.transport.close()


async def open_socket(url: str, index: int, confero: bool) -> tuple[WebSocket, str | None]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    _, ws = await loop.create_connection(
        lambda: WebSocket(f"{host}:{port}", parts.path, keep_all=not confero), host, port
    )
    await asyncio.wait_for(ws.opened, 60)
    participant = None
    if confero:
        ws.send_json(type="hello", lang="en")
        await ws.expect("room")
        ws.send_json(type="join", name=f"Listener {index}")
        welcome = await ws.expect("welcome")
        participant = welcome["participant_id"]
    return ws, participant


def key_of(payload: bytes) -> str:
    if not payload.startswith(b"{"):  # the baseline's plain text
        return payload.decode(errors="replace")
    message = json.loads(payload)
    if message.get("event") == "chat_posted":
        return str(message["text"])
    if message.get("event") == "mute_changed":
        return f"mute:{message['participant_id']}:{message['muted']}"
    if message.get("event") == "all_mute_changed":
        return f"all_muted:{message['muted']}"
    return str(message.get("text", payload.decode(errors="replace")))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(args: argparse.Namespace) -> None:
    sockets: list[WebSocket] = []
    participants: list[str] = []
    gate = asyncio.Semaphore(args.concurrency)

    async def one(index: int) -> None:
        async with gate:
            ws, pid = await open_socket(args.url, index, args.confero)
        sockets.append(ws)
        if pid is not None:
            participants.append(pid)

    started = now()
    await asyncio.gather(*(one(i) for i in range(args.sockets)))
    for ws in sockets:
        while not ws.messages.empty():  # what arrived during the joins
            ws.messages.get_nowait()
        ws.armed = True
    _emit("ready", sockets=len(sockets), participants=participants, seconds=now() - started)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "report":
            arrivals = [[[key_of(p), t] for t, p in ws.kept] for ws in sockets]
            for ws in sockets:
                ws.kept.clear()
            _emit("report", arrivals=arrivals, closed=sum(ws.closed for ws in sockets), cpu=_cpu())
        elif line in ("quit", ""):
            break
    for ws in sockets:
        ws.close()
    await asyncio.sleep(0.2)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_load")
    parser.add_argument("url")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--confero", action="store_true", help="join as the room page does")
    parser.add_argument("--concurrency", type=int, default=50, help="joins at a time")
    uvloop.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
