"""The phone bridge's offer/answer with real calls in one process (F-PH1, issue 13): an
offer we cannot take is refused before it rings, a caller on hold is not heard, our o=
line stays one session whose version moves only when our SDP does, and a re-INVITE
without SDP gets our offer and takes the answer from its ACK."""

from __future__ import annotations

import asyncio

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.media.tone import rms
from confero.observe.metrics import Metrics
from confero.phone.stack import PhoneStack
from confero.sip import offer_answer, sdp
from confero.sip.message import Response
from confero.sip.transport import Peer
from confero.sip.ua import UserAgent
from tests.loops import BOTH_LOOPS
from tests.phone.softphone import FAST, Softphone
from tests.phone.support import eventually, join, people

#: After the PIN: the announcements to the newcomer are over.
SETTLE = 2.5

G729_ONLY = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
)
VIDEO_ONLY = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=video 4000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"
)


@BOTH_LOOPS
async def test_an_offer_we_cannot_take_gets_488_before_any_ringing(phone: PhoneStack) -> None:
    """Issue 13: "no common codec" came after 180 Ringing; a phone that hears ringing
    and then a refusal shows a missed call. Negotiation now happens before ringing."""
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start(tcp=False)
    try:
        rang: list[bool] = []
        for body in (G729_ONLY, VIDEO_ONLY):
            call = await ua.call(
                f"sip:5000@127.0.0.1:{phone.ua.port}",
                Peer("UDP", ("127.0.0.1", phone.ua.port)),
                body,
                on_ringing=lambda: rang.append(True),
            )
            assert call.end_reason == "failed:488"
            assert rang == [], "refused without ringing first"
    finally:
        await ua.stop()
    await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)


async def _reinvite(phone: Softphone, body: bytes = b"") -> Response:
    """A re-INVITE from ``phone`` (with ``body`` as its offer, or none) and its ACK (with
    ``answer`` as the answer to a 200 that offered); the 200."""
    assert phone.call is not None and phone.call.dialog is not None
    dialog = phone.call.dialog
    request = dialog.request("INVITE", body=body, content_type="application/sdp" if body else None)
    ok = await phone.ua.transactions.request(request, dialog.peer).final
    assert ok.status == 200, ok.status
    answer = b""
    if not body:
        ours = sdp.parse(ok.body.decode())
        answered, _ = offer_answer.answer(
            ours, local_ip="127.0.0.1", local_port=phone.port, session_id=1, session_version=3
        )
        answer = answered.to_text().encode()
    phone.ua.transactions.send_stateless(dialog.ack(request.cseq[0], body=answer), dialog.peer)
    return ok


def _origin(body: bytes) -> tuple[int, int]:
    parsed = sdp.parse(body.decode())
    return parsed.session_id, parsed.session_version


async def test_a_held_caller_is_not_heard_and_resumes_by_a_reinvite_without_sdp(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Issue 13: a participant on hold had their music on hold mixed into the room; our
    re-INVITE answers changed the o= session id and never raised its version; a
    re-INVITE without SDP was refused (488)."""
    a = await join(phone, room, room.pin, services)
    b = await join(phone, room, room.pin, services)
    try:
        assert a.call is not None
        first = _origin(a.call.remote_sdp)
        a.start_tone(1000)  # its voice, then its music on hold: the tone goes on
        await asyncio.sleep(SETTLE)
        assert await b.hears(1000), "a is heard before the hold"

        def held_offer(version: int) -> bytes:
            offer = offer_answer.offer(
                local_ip="127.0.0.1", local_port=a.port, session_id=1, session_version=version
            )
            return offer.to_text().replace("a=sendrecv", "a=sendonly").encode()

        ok = await _reinvite(a, held_offer(2))
        assert sdp.parse(ok.body.decode()).media[0].direction == "recvonly"
        assert _origin(ok.body) == (first[0], first[1] + 1), "one session, version + 1"
        await asyncio.sleep(0.3)
        assert rms(await b.listen(1.0)) < 300, "b does not hear a's music on hold"

        ok = await _reinvite(a, held_offer(2))  # the same offer again (a refresh)
        assert _origin(ok.body) == (first[0], first[1] + 1), "unchanged SDP, same version"

        ok = await _reinvite(a)  # resume, late offer: ours in the 200, the answer in the ACK
        ours = sdp.parse(ok.body.decode())
        assert (ours.session_id, ours.session_version) == (first[0], first[1] + 2)
        assert ours.media[0].direction == "sendrecv"
        await asyncio.sleep(0.5)
        assert await b.hears(1000), "heard again after resuming"
        assert a.call.state == "confirmed"
    finally:
        await a.hangup()
        await b.hangup()
    await eventually(lambda: not people(services, room))


async def test_refused_offers_and_an_admitted_caller_are_counted(
    phone: PhoneStack, services: Services, room: Room
) -> None:
    """Issue 18: a 488 counts as refused for ``no_codec``; a caller through the voice
    menu as admitted."""
    metrics = Metrics()
    phone.bridge.metrics = metrics
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start(tcp=False)
    try:
        refused = await ua.call(
            f"sip:5000@127.0.0.1:{phone.ua.port}",
            Peer("UDP", ("127.0.0.1", phone.ua.port)),
            G729_ONLY,
        )
        assert refused.end_reason == "failed:488"
    finally:
        await ua.stop()
    sample = metrics.registry.get_sample_value
    assert sample("confero_calls_refused_total", {"reason": "no_codec"}) == 1
    assert sample("confero_calls_admitted_total") == 0
    caller = await join(phone, room, room.pin, services)
    try:
        assert sample("confero_calls_admitted_total") == 1
        assert sample("confero_calls_refused_total", {"reason": "full"}) == 0
        assert sample("confero_pin_failures_total") == 0
    finally:
        await caller.hangup()
