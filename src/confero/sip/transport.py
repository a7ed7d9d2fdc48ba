"""SIP over UDP and TCP (RFC 3261 §18) with ``rport`` (RFC 3581).

Responses go back where the request came from: over the same TCP connection, or over
UDP to the source address (we always behave as if ``rport`` was asked for, which is
what phones behind NAT need and what a direct peer does not notice). A datagram that
cannot be parsed is answered 400 with the reason when enough of it could be read, and
dropped otherwise: nothing escapes into the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from confero.sip.framing import StreamFramer
from confero.sip.message import (
    REASONS,
    Message,
    Request,
    Response,
    SipParseError,
    make_response,
    parse,
)

log = logging.getLogger(__name__)

Address = tuple[str, int]


@dataclass(frozen=True)
class Peer:
    """Where a message came from, and so where its answers go."""

    transport: str  # "UDP" or "TCP"
    address: Address


Handler = Callable[[Message, Peer], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.owner._received(data, Peer("UDP", (addr[0], addr[1])), stream=False)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)  # ICMP port unreachable from a vanished peer


class _Stream(Protocol):
    """What a TCP connection's transport must do for us. Checked by shape, not class:
    uvloop's TCPTransport (the loop `confero serve` runs) is no ``asyncio.Transport``
    subclass, and an ``isinstance`` check there reset every TCP connection (issue 13)."""

    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def get_extra_info(self, name: str, default: Any = None) -> Any: ...


class _TcpConnection(asyncio.Protocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner
        self.framer = StreamFramer()
        self.transport: _Stream | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(_Stream, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("TCP", (host, port))
        self.owner._connections[self.peer.address] = self

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        for item in self.framer.feed(data):
            if isinstance(item, SipParseError):
                self.owner._reject(item, self.peer)
                unframed = item.status == 513 or "Content-Length" in item.reason
                if unframed and self.transport is not None:
                    self.transport.close()  # the stream cannot be resynchronised
            else:
                self.owner._deliver(item, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.owner._connections.get(self.peer.address) is self:
            del self.owner._connections[self.peer.address]


class SipTransport:
    def __init__(self, host: str, port: int, handler: Handler) -> None:
        self.host = host
        self.port = port
        self.handler = handler
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: dict[Address, _TcpConnection] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self, *, tcp: bool = True) -> None:
        loop = asyncio.get_running_loop()
        any_port = self.port == 0
        # With port 0 the OS picks a free UDP port; TCP needs the same number, which some
        # other TCP socket may hold: then try again with another UDP port.
        for attempt in range(20 if any_port else 1):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, 0 if any_port else self.port)
            )
            port = int(udp.get_extra_info("sockname")[1])
            if not tcp:
                break
            try:
                self._tcp = await loop.create_server(
                    lambda: _TcpConnection(self), self.host, port, reuse_address=True
                )
                break
            except OSError:
                udp.close()
                if attempt == 19 or not any_port:
                    raise
        self._udp = udp
        self.port = port

    @property
    def listening(self) -> bool:
        """The UDP socket is open, and the TCP listener serves (when there is one)."""
        udp = self._udp is not None and not self._udp.is_closing()
        return udp and (self._tcp is None or self._tcp.is_serving())

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for conn in list(self._connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        self._connections.clear()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None

    # ------------------------------------------------------------------ inbound
    def _received(self, data: bytes, peer: Peer, *, stream: bool) -> None:
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive
        try:
            message = parse(data, stream=stream)
        except SipParseError as exc:
            self._reject(exc, peer)
            return
        self._deliver(message, peer)

    def _deliver(self, message: Message, peer: Peer) -> None:
        if isinstance(message, Request):
            _stamp_via(message, peer)
        try:
            self.handler(message, peer)
        except Exception:  # a bug in a handler must not take the listener down
            log.exception("SIP handler failed for %s", _describe(message))
            if isinstance(message, Request) and message.method != "ACK":
                self.send(make_response(message, 500), peer)

    def _reject(self, exc: SipParseError, peer: Peer) -> None:
        log.info("malformed SIP from %s: %s", peer.address, exc.reason)
        request = exc.request if isinstance(exc.request, Request) else None
        if request is None or request.method == "ACK":
            return  # not even a request line with headers: nothing to answer
        if not request.headers.get_all("Via"):
            return  # nowhere a response could be routed
        with contextlib.suppress(Exception):
            self.send(make_response(request, exc.status, _reason(exc)), peer)

    # ------------------------------------------------------------------ outbound
    def send(self, message: Message, peer: Peer) -> None:
        data = message.to_bytes()
        if peer.transport == "TCP":
            conn = self._connections.get(peer.address)
            if conn is not None and conn.transport is not None:
                conn.transport.write(data)
            else:
                task = asyncio.ensure_future(self._connect_and_send(peer.address, data))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
            return
        if self._udp is not None:
            self._udp.sendto(data, peer.address)

    async def _connect_and_send(self, address: Address, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, conn = await loop.create_connection(lambda: _TcpConnection(self), *address)
        except OSError as exc:
            log.info("cannot connect to %s: %s", address, exc)
            return
        transport.write(data)
        _ = conn

    @property
    def open_connections(self) -> int:
        return len(self._connections)


def _stamp_via(request: Request, peer: Peer) -> None:
    """RFC 3581 §4 / RFC 3261 §18.2.1: note where the request really came from."""
    vias = request.headers.get_all("Via")
    if not vias:
        return
    via = request.top_via
    via.params["received"] = peer.address[0]
    if "rport" in via.params:
        via.params["rport"] = str(peer.address[1])
    rest = vias[1:]
    request.headers.remove("Via")
    for value in reversed([str(via), *rest]):
        request.headers.prepend("Via", value)


def _reason(exc: SipParseError) -> str:
    if exc.status == 400:
        return f"Bad Request ({exc.reason})"[:120]
    return REASONS.get(exc.status, "Bad Request")


def _describe(message: Message) -> str:
    if isinstance(message, Request):
        return f"{message.method} {message.uri}"
    assert isinstance(message, Response)
    return f"{message.status} {message.reason}"
