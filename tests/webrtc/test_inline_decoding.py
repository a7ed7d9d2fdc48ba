"""A browser's microphone and camera decoded on the event loop (issue 15 P2, P3): the
others hear the one and see the other, no decoder thread does any work, and the idle
threads aiortc starts end when the browser leaves."""

from __future__ import annotations

import threading

from confero.domain.rooms import Room
from confero.webrtc.inline_decoding import InlineDecoding
from tests.phone.support import eventually
from tests.webrtc.support import Browser, Served


def _decoder_threads() -> int:
    return sum(t.name.endswith("-decoder") for t in threading.enumerate())


async def test_a_browsers_media_is_decoded_inline_and_its_threads_end_with_it(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = Browser(served.ws_url(room)), Browser(served.ws_url(room))
    browsers += [bob]
    before = _decoder_threads()
    for b, name in ((ann, "Ann"), (bob, "Bob")):
        await b.connect()
        await b.join(name)
    await bob.publish()
    await ann.publish(tone_hz=700, camera=True)
    stream = f"{ann.pid}-camera"
    await eventually(lambda: bob.heard.has_tone(700), 15)
    await eventually(lambda: bob.video_frames.get(stream, 0) >= 10, 15)

    (media,) = [
        v.participant.media
        for v in served.node.gateway.visitors[room.id]
        if v.participant is not None and v.participant.id == ann.pid
    ]
    assert media is not None and media.publish_pc is not None
    queues = [t.receiver._RTCRtpReceiver__decoder_queue for t in media.publish_pc.getTransceivers()]
    audio, camera = queues[0], queues[1]
    assert isinstance(audio, InlineDecoding) and audio.frames >= 20, "Ann's voice, on the loop"
    assert isinstance(camera, InlineDecoding) and camera.frames >= 10, "her camera, likewise"

    await ann.close()
    await eventually(lambda: _decoder_threads() <= before + 4, 10)  # Bob's and his watch
