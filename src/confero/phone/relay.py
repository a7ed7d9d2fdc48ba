"""An RTP relay for a phone call that a node passes on to the room's owner (issue 16
item 5, F-SC2).

Why relay and not redirect: a phone that has been through our voice menu has a dialog
with this node and sends its RTP to a port it already knows; a 302 or a re-INVITE to
another host is what many phones and trunks handle badly, and the caller would hear a
second voice menu. So this node stays in the call as a back-to-back user agent and
forwards the datagrams, untouched: no jitter buffer, no decoding, no mixing. RFC 4733
digits are RTP and pass through as such.

Two sockets: the caller's leg socket (its protocol is swapped for the relay's, so the
caller's RTP keeps reaching the port it knows and ours keeps coming from it) and one
socket of the relay's own toward the owner (the address our INVITE's SDP named).

No open relay (house rule: no traffic to an address that did not prove it wants it):
only datagrams from the caller's latched address go to the owner, and only datagrams
from the owner's media address (its SDP answer) go to the caller; anything else is
counted and dropped. RTCP is dropped, muxed or not: each end's reports describe a leg
the other end never saw (its SSRCs, its loss), and neither side needs them to keep the
call (the media timeout counts RTP). Closing gives the caller's socket back to its leg.

``last_from_owner`` is when the owner was last heard: an owner that died sends no BYE,
only silence, and the pass-on asks the cluster about a silent owner (phone/pass_on.py).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confero.media.rtp import is_rtcp

log = logging.getLogger(__name__)

Address = tuple[str, int]


class Relayed(enum.Enum):
    """How passing a call on ended."""

    #: The owner did not take it (or there is no other owner): the caller is still ours.
    REFUSED = "refused"
    #: One side hung up: the call is over.
    ENDED = "ended"
    #: The owner went silent and the cluster no longer names it: the caller may join
    #: the room again, wherever it runs now.
    OWNER_LOST = "owner_lost"


@dataclass
class RelayStats:
    to_owner: int = 0
    to_caller: int = 0
    #: From a foreign address, or RTCP.
    dropped: int = 0


class _Side(asyncio.DatagramProtocol):
    """One socket of the relay: hands each datagram to ``forward``."""

    def __init__(self, forward: Callable[[bytes, Address], None]) -> None:
        self._forward = forward

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._forward(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:  # an ICMP unreachable: keep going
        log.debug("relay socket: %s", exc)


class RtpRelay:
    """Forwards one call's RTP between the caller's leg socket and the room's owner."""

    def __init__(
        self,
        caller_socket: asyncio.DatagramTransport,
        caller: Address | None,
        *,
        on_caller: Callable[[], None] | None = None,
    ) -> None:
        self._caller_socket = caller_socket
        #: Where the caller's RTP comes from (the leg latched it): the only source
        #: forwarded to the owner, and where the owner's RTP goes.
        self.caller = caller
        #: Told of every datagram forwarded from the caller (the call's media clock).
        self._on_caller = on_caller
        self.owner: Address | None = None
        #: When the owner's RTP last came (monotonic seconds; the start counts).
        self.last_from_owner = 0.0
        self.stats = RelayStats()
        self._owner_socket: asyncio.DatagramTransport | None = None
        self._previous: asyncio.BaseProtocol | None = None

    async def open(self, host: str) -> int:
        """Bind the socket toward the owner (before the INVITE: its SDP names the port)."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_owner), local_addr=(host, 0)
        )
        self._owner_socket = transport
        return int(transport.get_extra_info("sockname")[1])

    @property
    def port(self) -> int:
        socket = self._owner_socket
        return int(socket.get_extra_info("sockname")[1]) if socket is not None else 0

    def start(self, owner: Address) -> None:
        """The owner answered with ``owner`` as its media address: relay from now on
        (the caller's socket stops feeding its leg)."""
        self.owner = owner
        self.last_from_owner = time.monotonic()
        self._previous = self._caller_socket.get_protocol()
        self._caller_socket.set_protocol(_Side(self._from_caller))

    def close(self) -> None:
        """Stop relaying; the caller's socket goes back to its leg (which closes it)."""
        if self._previous is not None and not self._caller_socket.is_closing():
            self._caller_socket.set_protocol(self._previous)
        self._previous = None
        self.owner = None
        if self._owner_socket is not None:
            self._owner_socket.close()
            self._owner_socket = None

    @property
    def closed(self) -> bool:
        return self._owner_socket is None

    def _from_caller(self, data: bytes, addr: Address) -> None:
        socket, owner = self._owner_socket, self.owner
        if socket is None or owner is None or addr != self.caller or is_rtcp(data):
            self.stats.dropped += 1
            return
        socket.sendto(data, owner)
        self.stats.to_owner += 1
        if self._on_caller is not None:
            self._on_caller()

    def _from_owner(self, data: bytes, addr: Address) -> None:
        caller = self.caller
        if self.owner is None or addr != self.owner or caller is None or is_rtcp(data):
            self.stats.dropped += 1
            return
        if self._caller_socket.is_closing():
            return
        self._caller_socket.sendto(data, caller)
        self.stats.to_caller += 1
        self.last_from_owner = time.monotonic()
