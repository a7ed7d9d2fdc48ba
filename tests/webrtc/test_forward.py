"""A camera forwarded by ``SubscriberStream`` (issue 15 P3), seen from a scripted aiortc
subscriber: it decodes the pictures, the packets carry the header extensions it
negotiated, a packet it reports lost comes again, and its RTCP sender reports count
what was sent."""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiortc.rtp import RtpPacket

from confero.domain.rooms import Room
from confero.webrtc.direct_sender import NTP_OFFSET
from confero.webrtc.forward import SubscriberStream
from tests.phone.support import eventually
from tests.webrtc.support import Browser, SeenRtp, Served, ann_and_bob


async def test_a_forwarded_camera_is_decoded_repaired_and_reported(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = await ann_and_bob(served, room, browsers)
    await bob.publish()
    await ann.publish(camera=True)
    stream_id = f"{ann.pid}-camera"
    await eventually(lambda: stream_id in bob.watching, 10)
    pc = bob.watching[stream_id]
    transceiver = pc.getTransceivers()[0]
    receiver = transceiver.receiver
    seen = SeenRtp(receiver.transport)
    await eventually(lambda: bob.video_frames.get(stream_id, 0) >= 15, 15)

    pub = served.node.gateway.sfu.get(room.id, stream_id)
    assert pub is not None
    sub = pub.subscriptions[bob.pid]
    stream = sub.sink
    assert isinstance(stream, SubscriberStream) and stream.packets >= 15
    assert sub._queue.empty(), "nothing went through the queue"

    # The header extensions Bob's BUNDLE demux and bandwidth estimate read.
    media = [p for p in seen.packets if p.payload_type == _vp8(pc)]
    assert media, "Bob saw our packets"
    assert {p.extensions.mid for p in media} == {transceiver.mid}
    now = (int((time.time() + NTP_OFFSET) * (1 << 32)) >> 14) & 0xFFFFFF
    assert all(p.extensions.abs_send_time is not None for p in media)
    assert (now - media[-1].extensions.abs_send_time) % (1 << 24) < 5 << 18  # < 5 s ago
    sequences = [p.sequence_number for p in media]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(sequences))
    assert sum(p.marker for p in media) >= 15, "one marker per frame"

    # A packet Bob reports lost (RTCP NACK) comes again, as RTX.
    lost = media[-3]
    before = len(seen.packets)
    await receiver._send_rtcp_nack(lost.ssrc, [lost.sequence_number])
    await eventually(lambda: any(_repairs(p, lost) for p in seen.packets[before:]), 5)

    # aiortc's RTCP sender report counts what we sent.
    stats = await stream._sender.getStats()
    outbound = next(s for s in stats.values() if s.type == "outbound-rtp")
    assert outbound.packetsSent >= stream.packets - 5 > 0


def _vp8(pc: Any) -> int:
    sdp = pc.remoteDescription.sdp
    line = next(x for x in sdp.splitlines() if x.startswith("a=rtpmap:") and "VP8/90000" in x)
    return int(line.split(":")[1].split()[0])


def _repairs(packet: RtpPacket, lost: RtpPacket) -> bool:
    if packet.ssrc == lost.ssrc:
        return packet.sequence_number == lost.sequence_number
    return packet.payload[:2] == lost.sequence_number.to_bytes(2, "big") and (
        packet.payload[2:] == lost.payload
    )
