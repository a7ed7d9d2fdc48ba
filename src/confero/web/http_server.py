"""Header and idle timeouts for uvicorn's HTTP protocol (issue 14, Deliver 4).

The attack run held 500 half-sent requests open for over a minute: uvicorn arms its only
timer (``timeout_keep_alive``) after a response, so a connection that never finishes its
headers, or its body, is never closed. ``guarded_http`` is uvicorn's httptools protocol
with three bounds of its own, kept per connection with one loop timer:

- the request line and headers must arrive within ``header_timeout`` seconds of the
  connection (or of the previous answer on a kept-alive one) and within
  ``max_header_bytes`` (llhttp has no size limit of its own): else the connection is
  closed, with a 431 for too many bytes;
- while a body is being sent, no more than ``body_timeout`` seconds may pass without a
  byte (an idle bound, so a slow but steady upload still finishes); while the
  application itself is not reading (flow control paused reading) the client is not
  blamed and the timer starts again;
- WebSocket upgrades leave this protocol at their handshake, so sockets are not bound by
  it (their own pings and limits apply).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
MAX_HEADER_BYTES = 64 * 1024

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 0\r\n"
    b"connection: close\r\n\r\n"
)


class HeadersTooLarge(httptools.HttpParserError):
    """Raised from the parser's callbacks; uvicorn answers parser errors (and we 431)."""


Phase = Literal["headers", "body", "idle"]


class GuardedHttpProtocol(HttpToolsProtocol):
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    max_header_bytes: int = MAX_HEADER_BYTES

    _guard: asyncio.TimerHandle | None = None
    _phase: Phase = "idle"
    _header_bytes: int = 0

    # -- the timer
    def _arm(self, phase: Phase) -> None:
        self._disarm()
        self._phase = phase
        delay = self.header_timeout if phase == "headers" else self.body_timeout
        if phase != "idle" and delay > 0:
            self._guard = self.loop.call_later(delay, self._expired)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _expired(self) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        if self._phase == "body" and self.flow.read_paused:
            self._arm("body")  # the application is not reading: not the client's delay
            return
        log.info("closing %s: no complete request %s in time", self.client, self._phase)
        self.transport.close()

    # -- uvicorn's protocol
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_bytes = 0
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._phase = "idle"
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "body":
            self._arm("body")
        super().data_received(data)

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise HeadersTooLarge("request headers too large")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        if self._header_bytes > self.max_header_bytes:
            self._disarm()
            self.transport.write(_TOO_LARGE)
            self.transport.close()
            return
        super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != "headers":
            # The first bytes after a kept-alive answer (the keep-alive timer just stopped).
            self._header_bytes = 0
            self._arm("headers")

    def on_headers_complete(self) -> None:
        self._disarm()
        self._phase = "idle"
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm("body")  # stopped at once by on_message_complete when there is none

    def on_message_complete(self) -> None:
        if self._phase == "body":
            self._disarm()
            self._phase = "idle"
        super().on_message_complete()


def guarded_http(
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> type[GuardedHttpProtocol]:
    """The protocol class to give ``uvicorn.Config(http=...)``, with these bounds."""
    return type(
        "GuardedHttp",
        (GuardedHttpProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_header_bytes": max_header_bytes,
        },
    )
