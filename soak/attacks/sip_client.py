"""The attacker's SIP user agent: plain UDP from this process, not the server's SIP code,
so every message can be withheld, forged or aimed elsewhere as an attacker would.

``Msg``/``parse``/``build``: SIP text; ``Udp``: a socket recording what it receives
(RTP packets with a G.711 u-law speech flag, SIP messages, answering requests 200 when
asked); ``Call``: one caller (INVITE, ACK, INFO ``application/dtmf-relay`` keys, BYE)
whose SDP may name another address. What a caller hears is measured on its own RTP
socket: a packet counts as speech above a small energy, so "the prompt started" is the
first speech packet after the caller's last key, which times the IVR without its logs.
"Another source" is another loopback address (127.0.0.2, ...: Linux routes 127/8 to lo).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

Address = tuple[str, int]

# ----------------------------------------------------------------------------- SIP text

_COMPACT = {
    "i": "call-id",
    "f": "from",
    "t": "to",
    "v": "via",
    "m": "contact",
    "l": "content-length",
}


@dataclass
class Msg:
    """A SIP message as received: first line, headers (lower-case names), body."""

    first: str
    headers: dict[str, list[str]]
    body: bytes
    size: int

    @property
    def status(self) -> int | None:
        if self.first.startswith("SIP/2.0 "):
            return int(self.first.split()[1])
        return None

    @property
    def method(self) -> str:
        if self.status is not None:
            return self.cseq[1]
        return self.first.split(" ", 1)[0]

    def header(self, name: str) -> str:
        values = self.headers.get(name, [])
        return values[0] if values else ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = self.header("cseq").partition(" ")
        return int(number or 0), method.strip()


def parse(data: bytes) -> Msg:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        headers.setdefault(_COMPACT.get(key, key), []).append(value.strip())
    return Msg(lines[0], headers, body, len(data))


def sdp(host: str, port: int) -> bytes:
    return (
        f"v=0\r\no=soak 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    ).encode()


def build(first: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [first, *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def reply(request: Msg, status: int, reason: str) -> bytes:
    headers = [("Via", v) for v in request.headers.get("via", [])]
    headers += [(k, request.header(k.lower())) for k in ("From", "To", "Call-ID", "CSeq")]
    return build(f"SIP/2.0 {status} {reason}", headers)


def branch() -> str:
    return "z9hG4bK-soak-" + secrets.token_hex(6)


# ----------------------------------------------------------------------------- sockets

_ULAW = []
for _byte in range(256):
    _u = ~_byte & 0xFF
    _mag = (((_u & 0x0F) << 3) + 0x84) << ((_u >> 4) & 7)
    _ULAW.append(-(_mag - 0x84) if _u & 0x80 else _mag - 0x84)


def speech(payload: bytes) -> bool:
    """Whether a PCMU payload is louder than silence and comfort noise."""
    if not payload:
        return False
    return sum(abs(_ULAW[b]) for b in payload) / len(payload) > 200


@dataclass
class Packet:
    at: float
    size: int
    speech: bool
    source: Address


class Udp(asyncio.DatagramProtocol):
    """A UDP socket recording what it receives; SIP requests can be answered 200."""

    def __init__(self, *, answer: bool = False) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None
        self.packets: list[Packet] = []
        self.messages: list[tuple[float, Msg]] = []
        self.sent_bytes = 0
        self.changed = asyncio.Event()
        self.address: Address = ("", 0)

    @classmethod
    async def open(cls, host: str, *, answer: bool = False, rcvbuf: int = 0) -> Udp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((host, 0))
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(lambda: cls(answer=answer), sock=sock)
        proto.address = sock.getsockname()
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        now = time.monotonic()
        if data[:1] in (b"\x80", b"\x81", b"\x90"):  # RTP version 2
            self.packets.append(Packet(now, len(data), speech(data[12:]), addr))
        else:
            try:
                msg = parse(data)
            except (ValueError, IndexError):
                return
            self.messages.append((now, msg))
            if self.answer and msg.status is None and msg.method != "ACK":
                self.send(reply(msg, 200, "OK"), addr)
        self.changed.set()

    def send(self, data: bytes, to: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(data, to)
            self.sent_bytes += len(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def received_bytes(self) -> int:
        return sum(p.size for p in self.packets)

    async def wait(self, pred: Callable[[], Any], within: float) -> Any:
        """Wait until ``pred()`` is truthy (checked on every datagram); its value or None."""
        deadline = time.monotonic() + within
        while True:
            value = pred()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.05))


class Call:
    """One caller: a SIP socket and an RTP socket on ``host``; the SDP may name another
    address (``sdp_to``). Every request the server sends is answered 200 (its BYE)."""

    def __init__(self, host: str, server: Address, number: str, caller: str) -> None:
        self.host = host
        self.server = server
        self.number = number
        self.caller = caller
        self.call_id = secrets.token_hex(8) + "@soak"
        self.tag = secrets.token_hex(4)
        self.cseq = 1
        self.to = f"<sip:{number}@{server[0]}>"
        self.target = f"sip:{number}@{server[0]}:{server[1]}"
        self.sip: Udp
        self.rtp: Udp
        self.answered_at: float | None = None
        self.final: Msg | None = None
        self._ssrc = 0x50AC0000 + secrets.randbelow(0xFFFF)
        self._rtp_seq = 0

    async def open(self) -> Call:
        self.sip = await Udp.open(self.host, answer=True)
        self.rtp = await Udp.open(self.host)
        return self

    def close(self) -> None:
        self.sip.close()
        self.rtp.close()

    def _headers(self, method: str, cseq: int) -> list[tuple[str, str]]:
        host, port = self.sip.address
        return [
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={branch()};rport"),
            ("From", f"<sip:{self.caller}@{host}>;tag={self.tag}"),
            ("To", self.to),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", f"<sip:{self.caller}@{host}:{port}>"),
            ("Max-Forwards", "70"),
        ]

    def invite_bytes(self, media: Address | str) -> bytes:
        """``media``: "own" (the caller's RTP socket), a host (port 4000) or an address."""
        if isinstance(media, tuple):
            rtp = media
        else:
            rtp = self.rtp.address if media == "own" else (media, 4000)
        headers = [*self._headers("INVITE", 1), ("Content-Type", "application/sdp")]
        return build(f"INVITE {self.target} SIP/2.0", headers, sdp(*rtp))

    async def invite(self, media: Address | str = "own", within: float = 15.0) -> Msg | None:
        """INVITE (retransmitted until something answers); the final response."""
        data = self.invite_bytes(media)
        interval = 0.5
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self.sip.send(data, self.server)
            got = await self.sip.wait(lambda: self._response(1, "INVITE", 100), interval)
            if got:
                break
            interval = min(interval * 2, 4.0)
        self.final = await self.sip.wait(
            lambda: self._response(1, "INVITE", 200), max(0.0, deadline - time.monotonic())
        )
        if self.final is not None and self.final.status == 200:
            self.answered_at = time.monotonic()
            self.to = self.final.header("to")
            contact = self.final.header("contact")
            if "<" in contact:
                self.target = contact.split("<", 1)[1].split(">", 1)[0]
        return self.final

    def _response(self, cseq: int, method: str, least: int) -> Msg | None:
        for _, m in self.sip.messages:
            if m.status is not None and m.status >= least and m.cseq == (cseq, method):
                return m
        return None

    def ack_bytes(self) -> bytes:
        """The ACK of the 200 (without the 200's To tag if none was received)."""
        return build(f"ACK {self.target} SIP/2.0", self._headers("ACK", 1))

    def ack(self) -> None:
        self.sip.send(self.ack_bytes(), self.server)

    async def request(
        self, method: str, body: bytes = b"", ctype: str = "", within: float = 8.0
    ) -> Msg | None:
        self.cseq += 1
        cseq = self.cseq
        headers = self._headers(method, cseq) + ([("Content-Type", ctype)] if ctype else [])
        data = build(f"{method} {self.target} SIP/2.0", headers, body)
        interval, deadline = 0.5, time.monotonic() + within
        while time.monotonic() < deadline:
            self.sip.send(data, self.server)
            got = await self.sip.wait(lambda: self._response(cseq, method, 200), interval)
            if got:
                assert isinstance(got, Msg)
                return got
            interval = min(interval * 2, 4.0)
        return None

    async def keys(self, digits: str) -> float:
        """Each digit as SIP INFO (RFC 2833-less phones); the time the last one was sent."""
        sent = time.monotonic()
        for d in digits:
            sent = time.monotonic()
            await self.request(
                "INFO", f"Signal={d}\r\nDuration=160\r\n".encode(), "application/dtmf-relay"
            )
        return sent

    def bye_from_server(self) -> float | None:
        for at, m in self.sip.messages:
            if m.status is None and m.method == "BYE":
                return at
        return None

    async def hangup(self) -> None:
        if self.answered_at is not None and self.bye_from_server() is None:
            await self.request("BYE", within=4.0)

    async def quiet(self, since: float, within: float = 20.0, gap: float = 0.6) -> bool:
        """Wait until a prompt heard after ``since`` has ended and ``gap`` seconds of
        silence followed (the IVR waits for keys): keys typed now barge into nothing, so
        the next speech is the server's answer to them. False: the server hung up, or
        no such silence within ``within`` seconds."""

        def done() -> bool:
            for p in reversed(self.rtp.packets):
                if p.at <= since:
                    return False
                if p.speech:
                    return time.monotonic() - p.at >= gap
            return False

        await self.rtp.wait(lambda: done() or self.bye_from_server(), within)
        return done() and self.bye_from_server() is None

    async def prompt_after(self, since: float, within: float) -> float | None:
        """When speech first reached the caller after ``since`` (None: not ``within``
        seconds, or the server hung up first)."""

        packets = self.rtp.packets
        start = len(packets)
        while start > 0 and packets[start - 1].at > since:
            start -= 1

        def first() -> float | None:
            nonlocal start
            while start < len(packets):
                if packets[start].speech:
                    return packets[start].at
                start += 1
            return None

        at = await self.rtp.wait(lambda: first() or self.bye_from_server(), within)
        if at is None or self.bye_from_server() == at:
            return None
        assert isinstance(at, float)
        return at

    def send_rtp(self, count: int, to: Address) -> None:
        """``count`` packets of PCMU silence, one stream (SSRC, sequence) per call."""
        for _ in range(count):
            seq = self._rtp_seq = self._rtp_seq + 1
            header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, self._ssrc)
            self.rtp.send(header + b"\xff" * 160, to)
