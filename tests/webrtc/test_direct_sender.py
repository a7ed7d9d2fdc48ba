"""The room's audio written straight to a browser's connection (issue 15 P2): a scripted
aiortc browser hears the other one's tone through it, the packets are a proper Opus
stream (20 ms apart, one sequence, the marker only where the talkspurt starts, the
negotiated ``mid``), and aiortc's RTCP sender reports count them."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from confero.domain.rooms import Room
from confero.webrtc.direct_sender import DirectRtpSender
from tests.phone.support import eventually
from tests.webrtc.support import Browser, SeenRtp, Served, ann_and_bob


async def test_a_browser_hears_the_room_through_the_direct_sender(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = await ann_and_bob(served, room, browsers)
    await bob.publish()
    assert bob.pc is not None
    transceiver = bob.pc.getTransceivers()[0]
    seen = SeenRtp(transceiver.receiver.transport)
    await ann.publish(tone_hz=600)
    await eventually(lambda: bob.heard.has_tone(600), 15)

    (leg,) = [
        v.participant.media.leg
        for v in served.node.gateway.visitors[room.id]
        if v.participant is not None and v.participant.id == bob.pid and v.participant.media
    ]
    assert isinstance(leg.direct, DirectRtpSender) and leg.direct.packets >= 25
    assert leg.track._queue.empty(), "nothing went through aiortc's sender"

    opus = [p for p in seen.packets if p.ssrc == leg.direct._ssrc]
    assert len(opus) >= 25
    assert {p.extensions.mid for p in opus} == {transceiver.mid}
    pairs = list(itertools.pairwise(opus))
    assert all((b.sequence_number - a.sequence_number) % 65536 == 1 for a, b in pairs)
    assert all((b.timestamp - a.timestamp) % (1 << 32) == 960 for a, b in pairs), "20 ms"
    assert not any(p.marker for p in opus[1:]), "the marker starts a talkspurt only"

    stats = await transceiver.receiver.getStats()
    inbound = next(s for s in stats.values() if s.type == "inbound-rtp")
    assert inbound.packetsReceived >= 25


class _Failing:
    """An SRTP session whose RTP protection has stopped working (a key limit, a library
    error); its RTCP still goes through the real one (aiortc's own RTCP task is not what
    this test is about, and it never ends if that raises)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def protect(self, data: bytes) -> bytes:
        raise RuntimeError("srtp_err_status_key_expired")

    def protect_rtcp(self, data: bytes) -> bytes:
        return bytes(self.real.protect_rtcp(data))


async def test_one_failing_connection_never_stops_the_rooms_audio(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = await ann_and_bob(served, room, browsers)
    carol = Browser(served.ws_url(room))
    browsers.append(carol)
    await carol.connect()
    await carol.join("Carol")
    await bob.publish()
    await carol.publish()
    await ann.publish(tone_hz=600)
    await eventually(lambda: bob.heard.has_tone(600) and carol.heard.has_tone(600), 15)

    (bob_leg,) = [
        v.participant.media.leg
        for v in served.node.gateway.visitors[room.id]
        if v.participant is not None and v.participant.id == bob.pid and v.participant.media
    ]
    assert bob_leg.direct is not None
    dtls = bob_leg.direct._sender.transport
    working = dtls._tx_srtp
    dtls._tx_srtp = _Failing(working)
    ticks = served.node.engine.stats.ticks
    sent = bob_leg.direct.packets
    await asyncio.sleep(1.0)
    assert served.node.engine.stats.ticks >= ticks + 40, "the tick goes on"
    assert bob_leg.direct.packets == sent, "nothing reached Bob"
    assert carol.heard.has_tone(600), "Carol still hears Ann"
    dtls._tx_srtp = working
    await eventually(lambda: bob_leg.direct.packets > sent + 10, 5)
