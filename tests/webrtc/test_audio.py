"""A browser's audio leg: what it hands its connection."""

from __future__ import annotations

import asyncio

from confero.media.opus import FRAME
from confero.webrtc.audio import BrowserAudioLeg


async def test_no_packets_are_made_for_a_track_nobody_reads_yet() -> None:
    """Issue 17: a participant joined without a connection (1,000 of them in
    bench.ws_fanout) costs the tick no packet object; its stream's clock still runs."""
    leg = BrowserAudioLeg("p1")
    for _ in range(5):
        leg.send_encoded(b"\xf8\xff\xfe")
    assert leg.track._queue.empty() and leg.sent == 0
    reader = asyncio.create_task(leg.track.recv())
    await asyncio.sleep(0)
    leg.send_encoded(b"\xf8\xff\xfe")
    packet = await asyncio.wait_for(reader, 1)
    assert bytes(packet) == b"\xf8\xff\xfe" and packet.pts == 5 * FRAME and leg.sent == 1
    leg.close()
