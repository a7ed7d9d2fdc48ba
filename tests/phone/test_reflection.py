"""No reflection and the media timeout (issue 14, deliver 2), with real sockets.

The attack: an INVITE whose SDP names someone else's address and that never ACKs made
the server send the IVR's RTP there (a 490x amplifier); multicast and broadcast SDP
addresses were answered 200. Now no RTP (and no RTCP) leaves before the ACK, those
addresses get 488, and a caller not heard for ``media_timeout`` is hung up (not while it
holds the call, up to ``media_hold_timeout``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from confero.media.rtp import RtpSender
from confero.phone.stack import PhoneStack
from confero.sip import offer_answer
from confero.sip.message import Request, Response, parse
from confero.sip.transaction import Timers
from tests.phone.softphone import HOST, Softphone
from tests.phone.support import eventually

#: The 2xx is repeated for 64 x T1 without an ACK: 1.3 s here.
QUICK = Timers(t1=0.02, t2=0.2, t4=0.1)


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got += 1


class Reflector:
    """Someone else's RTP and RTCP ports (even, odd): counts what reaches them."""

    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.rtp = _Counter()
        self.rtcp = _Counter()
        self.port = 0
        self._transports: list[asyncio.DatagramTransport] = []

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(32):
            rtp, _ = await loop.create_datagram_endpoint(
                lambda: self.rtp, local_addr=(self.host, 0)
            )
            port = rtp.get_extra_info("sockname")[1]
            if port % 2 == 0:
                with contextlib.suppress(OSError):
                    rtcp, _ = await loop.create_datagram_endpoint(
                        lambda: self.rtcp, local_addr=(self.host, port + 1)
                    )
                    self._transports = [rtp, rtcp]
                    self.port = port
                    return
            rtp.close()
        raise OSError("no port pair")

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        """From the RTP port, as the phone at this address would."""
        self._transports[0].sendto(data, to)

    def close(self) -> None:
        for t in self._transports:
            t.close()


def _sdp(address: str, port: int) -> bytes:
    ip = "IP6" if ":" in address else "IP4"
    return (
        f"v=0\r\no=- 1 1 IN {ip} {address}\r\ns=-\r\nc=IN {ip} {address}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    ).encode()


class RawCaller:
    """A SIP caller by hand on a UDP socket: it ACKs only when told to and answers a BYE."""

    def __init__(self, server_port: int) -> None:
        self.server_port = server_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def send(self, head: str, body: bytes = b"") -> None:
        text = head.replace("\n", "\r\n") + f"Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendto(text.encode() + body, ("127.0.0.1", self.server_port))

    def invite(self, call_id: str, body: bytes) -> None:
        self.send(
            f"INVITE sip:5000@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK-{call_id};rport\n"
            f"From: <sip:666@{HOST}>;tag=a-{call_id}\nTo: <sip:5000@127.0.0.1>\n"
            f"Call-ID: {call_id}\nCSeq: 1 INVITE\nMax-Forwards: 70\n"
            f"Contact: <sip:666@{HOST}:{self.port}>\nContent-Type: application/sdp\n",
            body,
        )

    def in_dialog(self, method: str, ok: Response, cseq: int) -> None:
        self.send(
            f"{method} sip:confero@127.0.0.1:{self.server_port} SIP/2.0\n"
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK-{method}{cseq};rport\n"
            f"From: <sip:666@{HOST}>;tag=a-{ok.call_id}\n"
            f"To: <sip:5000@127.0.0.1>;tag={ok.to.tag}\n"
            f"Call-ID: {ok.call_id}\nCSeq: {cseq} {method}\nMax-Forwards: 70\n"
        )

    async def answered(self, call_id: str, body: bytes) -> Response:
        """INVITE, its 200, our ACK: the call is up."""
        self.invite(call_id, body)
        ok = (await self.until(2, "200"))[-1]
        assert isinstance(ok, Response)
        self.in_dialog("ACK", ok, 1)
        return ok

    async def hang_up(self, ok: Response, phone: PhoneStack) -> None:
        self.in_dialog("BYE", ok, 2)
        await self.until(2, "200")
        await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)

    async def recv(self, seconds: float) -> Response | Request:
        loop = asyncio.get_running_loop()
        return parse(await asyncio.wait_for(loop.sock_recv(self.sock, 65535), seconds))

    async def until(self, seconds: float, want: str) -> list[Response | Request]:
        """Every message until one whose status or method is ``want``; a BYE is answered."""
        seen: list[Response | Request] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            msg = await self.recv(max(0.01, deadline - loop.time()))
            seen.append(msg)
            if isinstance(msg, Request) and msg.method == "BYE":
                self._ok(msg)
            what = str(msg.status) if isinstance(msg, Response) else msg.method
            if what == want:
                return seen

    def _ok(self, request: Request) -> None:
        head = "SIP/2.0 200 OK\n" + "".join(
            f"{name}: {request.headers.get(name)}\n"
            for name in ("Via", "From", "To", "Call-ID", "CSeq")
        )
        self.send(head)

    def close(self) -> None:
        self.sock.close()


async def test_an_invite_naming_another_address_sends_it_nothing_until_its_ack(
    phone: PhoneStack,
) -> None:
    """The reflection attack: answered but never ACKed, the call sends no RTP and no
    RTCP to the address its SDP names, and ends (BYE) when the 2xx times out. The same
    INVITE ACKed does get the IVR's RTP there (the reflector would have seen it)."""
    phone.ua.transactions.timers = QUICK
    reflector, raw = Reflector(), RawCaller(phone.ua.port)
    await reflector.open()
    try:
        raw.invite("never-acked", _sdp(reflector.host, reflector.port))
        seen = await raw.until(5, "BYE")  # 100, 180, 200 (repeated), then our BYE
        assert any(isinstance(m, Response) and m.status == 200 for m in seen)
        await asyncio.sleep(0.3)
        assert (reflector.rtp.got, reflector.rtcp.got) == (0, 0), "nothing reflected"
        await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)

        ok = await raw.answered("acked", _sdp(reflector.host, reflector.port))
        await eventually(lambda: reflector.rtp.got > 10, 3)  # the welcome prompt
        await raw.hang_up(ok, phone)
    finally:
        raw.close()
        reflector.close()


async def test_an_acked_call_sends_nothing_to_another_host_until_it_hears_from_it(
    phone: PhoneStack,
) -> None:
    """ACKed, but the SDP names a host the SIP did not come from: the IVR's prompt goes
    nowhere until that host's own RTP arrives (then it is a phone with a separate media
    address, as behind some PBXs, and hears the prompt)."""
    reflector, raw = Reflector("127.0.0.3"), RawCaller(phone.ua.port)
    await reflector.open()
    try:
        ok = await raw.answered("elsewhere", _sdp("127.0.0.3", reflector.port))
        await asyncio.sleep(1.5)  # the welcome prompt plays meanwhile
        assert (reflector.rtp.got, reflector.rtcp.got) == (0, 0), "nothing reflected"
        (call,) = phone.bridge.calls
        packet = RtpSender(0).next(b"\xff" * 160, 160).to_bytes()
        reflector.send(packet, ("127.0.0.1", call.leg.local_port))  # its own RTP
        await eventually(lambda: reflector.rtp.got > 10, 3)  # now it hears the prompt
        await raw.hang_up(ok, phone)
    finally:
        raw.close()
        reflector.close()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("0.0.0.0", "unspecified"),
    ],
)
async def test_a_non_unicast_sdp_address_gets_488_before_ringing(
    phone: PhoneStack, address: str, why: str
) -> None:
    raw = RawCaller(phone.ua.port)
    try:
        raw.invite(f"to-{why}", _sdp(address, 4000))
        seen = await raw.until(2, "488")
        statuses = [m.status for m in seen if isinstance(m, Response)]
        assert 180 not in statuses and 200 not in statuses
        refused = seen[-1]
        assert isinstance(refused, Response) and why in refused.reason
        await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)
    finally:
        raw.close()


def _quiet(caller: Softphone) -> None:
    """The phone stops answering our RTCP reports: with no RTP it is not heard at all."""
    if caller._rtcp is not None:
        caller._rtcp.close()
        caller._rtcp = None


async def _reinvite(caller: Softphone, body: bytes) -> None:
    assert caller.call is not None and caller.call.dialog is not None
    dialog = caller.call.dialog
    request = dialog.request("INVITE", body=body, content_type="application/sdp")
    ok = await caller.ua.transactions.request(request, dialog.peer).final
    assert ok.status == 200, ok.status
    caller.ua.transactions.send_stateless(dialog.ack(request.cseq[0]), dialog.peer)


async def test_a_silent_caller_is_hung_up_after_the_media_timeout_a_talking_one_is_not(
    phone: PhoneStack,
) -> None:
    phone.bridge.media_timeout = 1.0
    silent, talking = Softphone(phone.ua.port), Softphone(phone.ua.port)
    try:
        for caller in (silent, talking):
            assert (await caller.dial("5000")).state == "confirmed"
        _quiet(silent)
        talking.start_tone(440)
        assert silent.call is not None and talking.call is not None
        await asyncio.wait_for(silent.call.ended.wait(), 4)
        assert silent.call.end_reason == "bye", "we said BYE"
        assert talking.call.state == "confirmed", "RTP keeps a call alive"
        await eventually(lambda: len(phone.bridge.calls) == 1)
    finally:
        await silent.hangup()
        await talking.hangup()
    await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)


async def test_a_caller_on_hold_has_the_long_timeout_and_the_short_one_after_resuming(
    phone: PhoneStack,
) -> None:
    """A phone on hold sends no RTP (baresip): kept for ``media_hold_timeout``. The hold
    here is a re-INVITE with c=0.0.0.0 (RFC 2543), which an initial offer may not use."""
    phone.bridge.media_timeout, phone.bridge.media_hold_timeout = 1.0, 30.0
    caller = Softphone(phone.ua.port)
    try:
        call = await caller.dial("5000")
        assert call.state == "confirmed"
        _quiet(caller)

        def offer(ip: str, version: int) -> bytes:
            sdp = offer_answer.offer(
                local_ip=ip, local_port=caller.port, session_id=1, session_version=version
            )
            return sdp.to_text().encode()

        await _reinvite(caller, offer("0.0.0.0", 2))
        (server,) = phone.bridge.calls
        assert server.leg.held
        await asyncio.sleep(2.5)
        assert call.state == "confirmed", "on hold, silent: still up"
        await _reinvite(caller, offer(HOST, 3))
        assert not server.leg.held
        await asyncio.wait_for(call.ended.wait(), 4)
        assert call.end_reason == "bye"
    finally:
        await caller.hangup()
    await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)
