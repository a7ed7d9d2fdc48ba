"""The user agent against itself and against a raw socket: calls in and out, the
answers it gives on its own, and that nothing stays behind."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from confero.sip.message import Request, Response, parse
from confero.sip.transaction import Timers
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent

FAST = Timers(t1=0.05, t2=0.4, t4=0.2)
SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)


@pytest.fixture
async def server() -> AsyncIterator[UserAgent]:
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start()
    yield ua
    await ua.stop()
    assert ua.transactions.pending == 0


@pytest.fixture
async def client() -> AsyncIterator[UserAgent]:
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start()
    yield ua
    await ua.stop()


class Raw:
    """A UDP socket that speaks SIP by hand, to see exactly what the server sends."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def send(self, text: str, port: int) -> None:
        self.sock.sendto(text.replace("\n", "\r\n").encode(), ("127.0.0.1", port))

    async def recv(self, seconds: float = 2.0) -> Response | Request:
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), seconds)
        return parse(data)

    async def responses(self, seconds: float) -> list[Response]:
        """Every response within ``seconds`` (requests such as our BYE are left out)."""
        out: list[Response] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while (left := deadline - loop.time()) > 0:
                msg = await self.recv(left)
                if isinstance(msg, Response):
                    out.append(msg)
        except TimeoutError:
            pass
        return out

    def close(self) -> None:
        self.sock.close()


def invite(raw: Raw, *, branch: str = "z9hG4bK-1", call_id: str = "c1", body: bytes = SDP) -> str:
    return (
        f"INVITE sip:100@127.0.0.1 SIP/2.0\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch={branch};rport\n"
        f"From: <sip:alice@127.0.0.1>;tag=a1\nTo: <sip:100@127.0.0.1>\n"
        f"Call-ID: {call_id}\nCSeq: 1 INVITE\nMax-Forwards: 70\n"
        f"Contact: <sip:alice@127.0.0.1:{raw.port}>\nContent-Type: application/sdp\n"
        f"Content-Length: {len(body)}\n\n"
    ) + body.decode()


async def test_call_answered_acked_and_hung_up_by_the_caller(
    server: UserAgent, client: UserAgent
) -> None:
    taken: list[SipCall] = []
    digits: list[str] = []

    def take(call: SipCall) -> None:
        taken.append(call)
        call.on_digit = digits.append
        call.ring()
        call.answer(SDP)

    server.on_invite = take
    call = await client.call(
        f"sip:100@127.0.0.1:{server.port}", Peer("UDP", ("127.0.0.1", server.port)), SDP
    )
    assert call.state == "confirmed" and call.remote_sdp == SDP
    assert taken[0].caller == "confero" and taken[0].called == "100"
    await asyncio.sleep(0.1)
    assert taken[0].state == "confirmed"  # the ACK arrived
    call.hangup()
    await asyncio.wait_for(taken[0].ended.wait(), 2)
    assert taken[0].end_reason == "bye"
    assert server.calls == 0 and client.calls == 0


async def test_2xx_repeats_until_ack_then_the_caller_gets_bye_when_no_ack(
    server: UserAgent,
) -> None:
    calls: list[SipCall] = []
    server.on_invite = lambda call: (calls.append(call), call.answer(SDP))  # type: ignore[func-returns-value]
    raw = Raw()
    try:
        raw.send(invite(raw), server.port)
        seen = await raw.responses(FAST.b + 0.5)
        oks = [r for r in seen if r.status == 200]
        assert seen[0].status == 100
        assert len(oks) >= 4, "the 200 OK is repeated while no ACK comes (timer G)"
        assert calls[0].end_reason == "no_ack"
    finally:
        raw.close()


async def test_cancel_before_answer_gives_487_and_ends_the_call(server: UserAgent) -> None:
    calls: list[SipCall] = []
    server.on_invite = lambda call: (calls.append(call), call.ring())  # type: ignore[func-returns-value]
    raw = Raw()
    try:
        raw.send(invite(raw), server.port)
        await raw.responses(0.2)
        raw.send(
            f"CANCEL sip:100@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bK-1;rport\n"
            f"From: <sip:alice@127.0.0.1>;tag=a1\nTo: <sip:100@127.0.0.1>\n"
            f"Call-ID: c1\nCSeq: 1 CANCEL\nMax-Forwards: 70\nContent-Length: 0\n\n",
            server.port,
        )
        seen = await raw.responses(0.3)
        assert {(r.status, r.cseq[1]) for r in seen} >= {(200, "CANCEL"), (487, "INVITE")}
        assert calls[0].end_reason == "cancelled"
    finally:
        raw.close()


@pytest.mark.parametrize(
    ("method", "status"),
    [("OPTIONS", 200), ("REGISTER", 405), ("FROBNICATE", 501), ("BYE", 481)],
)
async def test_requests_outside_a_call(server: UserAgent, method: str, status: int) -> None:
    raw = Raw()
    try:
        raw.send(
            f"{method} sip:100@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bK-o;rport\n"
            f"From: <sip:alice@127.0.0.1>;tag=a1\nTo: <sip:100@127.0.0.1>\n"
            f"Call-ID: o1\nCSeq: 7 {method}\nMax-Forwards: 70\nContent-Length: 0\n\n",
            server.port,
        )
        reply = await raw.recv()
        assert isinstance(reply, Response) and reply.status == status
        if status in (200, 405):
            assert "INFO" in reply.headers.get_all("Allow")
    finally:
        raw.close()


async def test_malformed_request_gets_400_with_reason(server: UserAgent) -> None:
    raw = Raw()
    try:
        raw.send(
            f"INVITE sip:100@127.0.0.1 SIP/2.0\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bK-m\n"
            f"From: <sip:alice@127.0.0.1>;tag=a1\nTo: <sip:100@127.0.0.1>\n"
            f"Call-ID: m1\nCSeq: 1 BYE\nContent-Length: 0\n\n",
            server.port,
        )
        reply = await raw.recv()
        assert isinstance(reply, Response) and reply.status == 400
        assert "CSeq" in reply.reason
    finally:
        raw.close()


def ack_for(raw: Raw, ok: Response, *, body: bytes = b"") -> str:
    """The ACK of the 200 ``ok`` to :func:`invite` (its own branch, §13.2.2.4)."""
    headers = (
        f"ACK sip:100@127.0.0.1 SIP/2.0\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bK-ack;rport\n"
        f"From: <sip:alice@127.0.0.1>;tag=a1\nTo: <sip:100@127.0.0.1>;tag={ok.to.tag}\n"
        f"Call-ID: {ok.call_id}\nCSeq: 1 ACK\nMax-Forwards: 70\n"
    )
    if body:
        headers += "Content-Type: application/sdp\n"
    # Raw.send ends lines with CRLF: hand it LF lines, count the CRLF body
    return headers + f"Content-Length: {len(body)}\n\n" + body.decode().replace("\r\n", "\n")


@pytest.mark.parametrize("tag", ["", ";tag=guessed"])
async def test_a_blind_ack_does_not_confirm_the_call(server: UserAgent, tag: str) -> None:
    """Issue 14's rerun: an ACK without the To tag of our 200 (or with another one) comes
    from someone who never saw our answer, e.g. the forger of the INVITE's source: the
    call stays unconfirmed (no RTP, no IVR) and ends when no real ACK comes."""
    calls: list[SipCall] = []
    server.on_invite = lambda call: (calls.append(call), call.answer(SDP))  # type: ignore[func-returns-value]
    raw = Raw()
    try:
        raw.send(invite(raw), server.port)
        ok = next(r for r in await raw.responses(0.3) if r.status == 200)
        blind = ack_for(raw, ok).replace(f";tag={ok.to.tag}", tag)
        raw.send(blind, server.port)
        await asyncio.sleep(0.2)
        assert calls[0].state != "confirmed", "no ACK without our To tag"
        raw.send(ack_for(raw, ok), server.port)
        await asyncio.sleep(0.2)
        assert calls[0].state == "confirmed", "the real ACK confirms it"
    finally:
        raw.close()


async def test_late_offer_our_offer_in_the_200_and_the_answer_from_the_ack(
    server: UserAgent,
) -> None:
    """Issue 13: an INVITE without SDP used to get 488. Now our SDP goes in the 200 as
    the offer and the ACK's SDP is the answer; an ACK without one ends the call (BYE)."""
    calls: list[SipCall] = []
    answers: list[bytes] = []

    def take(call: SipCall) -> None:
        calls.append(call)
        call.on_answer = lambda body: (answers.append(body), True)[1]
        call.answer(SDP)

    server.on_invite = take
    raw = Raw()
    try:
        raw.send(invite(raw, body=b""), server.port)
        ok = next(r for r in await raw.responses(0.3) if r.status == 200)
        assert ok.body == SDP and ok.content_type == "application/sdp"
        assert calls[0].late_offer
        raw.send(ack_for(raw, ok, body=SDP.replace(b"4000", b"4002")), server.port)
        await asyncio.sleep(0.1)
        assert answers == [SDP.replace(b"4000", b"4002")]
        assert calls[0].state == "confirmed" and calls[0].remote_sdp == answers[0]

        raw.send(invite(raw, body=b"", branch="z9hG4bK-2", call_id="c2"), server.port)
        ok = next(r for r in await raw.responses(0.3) if r.status == 200)
        raw.send(ack_for(raw, ok), server.port)  # no answer in the ACK
        bye = await raw.recv()
        while isinstance(bye, Response):  # a 200 sent again before our ACK got there
            bye = await raw.recv()
        assert isinstance(bye, Request) and bye.method == "BYE" and bye.call_id == "c2"
        assert calls[1].end_reason == "no_answer" and len(answers) == 1
    finally:
        raw.close()


async def test_invite_with_a_body_that_is_not_sdp_is_refused(server: UserAgent) -> None:
    server.on_invite = lambda call: call.answer(SDP)
    raw = Raw()
    try:
        text = invite(raw).replace("application/sdp", "text/plain")
        raw.send(text, server.port)
        seen = await raw.responses(0.3)
        assert 415 in [r.status for r in seen]
    finally:
        raw.close()


async def test_reinvite_without_sdp_gets_our_offer_and_its_ack_the_answer(
    server: UserAgent, client: UserAgent
) -> None:
    answers: list[bytes] = []
    ours = SDP.replace(b"o=- 1 1", b"o=- 1 2")

    def take(call: SipCall) -> None:
        call.make_offer = lambda: ours
        call.on_answer = lambda body: (answers.append(body), b"m=audio" in body)[1]
        call.answer(SDP)

    server.on_invite = take
    call = await client.call(
        f"sip:100@127.0.0.1:{server.port}", Peer("UDP", ("127.0.0.1", server.port)), SDP
    )
    assert call.dialog is not None
    for their_answer in (SDP.replace(b"4000", b"4004"), b""):
        reinvite = call.dialog.request("INVITE")
        ok = await client.transactions.request(reinvite, call.dialog.peer).final
        assert ok.status == 200 and ok.body == ours
        ack = call.dialog.ack(reinvite.cseq[0], body=their_answer)
        client.transactions.send_stateless(ack, call.dialog.peer)
        await asyncio.sleep(0.15)
    assert answers == [SDP.replace(b"4000", b"4004")]
    # the second ACK had no answer: the server hung up
    await asyncio.wait_for(call.ended.wait(), 2)
    assert call.end_reason == "bye"


async def test_info_digits_and_reinvite_hold_in_the_dialog(
    server: UserAgent, client: UserAgent
) -> None:
    digits: list[str] = []
    offers: list[bytes] = []

    def take(call: SipCall) -> None:
        call.on_digit = digits.append
        call.on_offer = lambda sdp: (offers.append(sdp), SDP)[1]
        call.answer(SDP)

    server.on_invite = take
    call = await client.call(
        f"sip:100@127.0.0.1:{server.port}", Peer("UDP", ("127.0.0.1", server.port)), SDP
    )
    assert call.dialog is not None
    for d in "12#":
        info = call.dialog.request(
            "INFO",
            body=f"Signal={d}\r\nDuration=160\r\n".encode(),
            content_type="application/dtmf-relay",
        )
        answer = await client.transactions.request(info, call.dialog.peer).final
        assert answer.status == 200
    held = SDP.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
    reinvite = call.dialog.request("INVITE", body=held, content_type="application/sdp")
    answer = await client.transactions.request(reinvite, call.dialog.peer).final
    assert answer.status == 200 and answer.body == SDP
    client.transactions.send_stateless(call.dialog.ack(reinvite.cseq[0]), call.dialog.peer)
    bad = call.dialog.request("INFO", body=b"Signal=Z\r\n", content_type="application/dtmf-relay")
    answer = await client.transactions.request(bad, call.dialog.peer).final
    assert answer.status == 400
    assert digits == ["1", "2", "#"] and offers == [held]
    call.hangup()
    await asyncio.sleep(0.1)
