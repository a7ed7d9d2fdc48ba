"""A TCP proxy that can take the network away, for tests of what a browser does when its
connection to the server drops (issue 14).

Put between a browser and the served HTTP/WebSocket port (the page is opened at
``proxy.url``), it forwards bytes both ways until told otherwise:

- ``black_hole()``: nothing is forwarded either way and nothing is closed, as when a
  cable is pulled: what either side sends is held (the proxy stops reading, so the
  kernel's buffers and TCP's flow control hold the rest) and arrives when the network is
  back, as TCP's retransmissions would deliver it. New connections are held likewise.
- ``cut()``: the network goes away and the browser's machine knows it (the interface went
  down, the Wi-Fi roamed): the browser's connections are reset, new ones are refused; the
  server's side of each connection is black-holed (the server's machine learns nothing),
  and reset when the network is back (the server's retransmissions then meet a peer
  that no longer knows the connection).
- ``restore()``: forwards again (and accepts again after a ``cut``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Link:
    """One proxied connection: the browser's side and the server's side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    #: The browser's side was reset by ``cut``: the server's side waits for ``restore``.
    cut: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a peer that lost the connection answers."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[_Link] = set()
        #: Connections the proxy accepted, in all (a browser that reconnects adds one).
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._flowing.set()
        for link in list(self._links):
            self._drop(link, rst=False)
            for task in link.tasks:
                task.cancel()
            for task in link.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ------------------------------------------------------------------ the network
    def black_hole(self) -> None:
        """Stop forwarding both ways; close nothing."""
        self._flowing.clear()

    def cut(self) -> None:
        """Reset the browser's connections and refuse new ones; the server's sides hang."""
        self._flowing.clear()
        if self._server is not None:
            self._server.close()  # the listening socket only: a SYN now gets a RST
            self._server = None
        for link in self._links:
            link.cut = True
            reset(link.client)

    async def restore(self) -> None:
        """The network is back: the hung server sides are reset, the rest flows again."""
        for link in list(self._links):
            if link.cut:
                self._drop(link, rst=True)
        if self._server is None:
            await self._listen()
        self._flowing.set()

    # ------------------------------------------------------------------ forwarding
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            reset(writer)
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer)),
            asyncio.create_task(self._pump(link, up_reader, writer)),
        ]

    async def _pump(
        self,
        link: _Link,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
    ) -> None:
        try:
            while True:
                await self._flowing.wait()
                data = await src.read(65536)
                if not data:
                    break
                # Read during a black hole: held until the network is back.
                await self._flowing.wait()
                if link.cut or link not in self._links:
                    return
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        if link.cut:
            return  # the server's side hangs until restore() resets it
        self._drop(link, rst=False)

    def _drop(self, link: _Link, *, rst: bool) -> None:
        if link not in self._links:
            return
        self._links.discard(link)
        for writer in (link.client, link.upstream):
            if rst:
                reset(writer)
            else:
                writer.close()
