"""Cameras and screens through the SFU with scripted aiortc browsers: forwarded without
decoding, a late subscriber's first picture within a second, (un)publishing."""

from __future__ import annotations

from confero.domain.rooms import Room
from tests.phone.support import eventually
from tests.webrtc.support import Browser, Served, ann_and_bob


async def test_camera_is_forwarded_without_decoding_and_late_subscriber_gets_key_frame(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob, carol = (Browser(served.ws_url(room)) for _ in range(3))
    browsers += [ann, bob, carol]
    for b, name in ((ann, "Ann"), (bob, "Bob")):
        await b.connect()
        await b.join(name)
    await bob.publish()
    await ann.publish(camera=True)
    stream = f"{ann.pid}-camera"
    await eventually(lambda: bob.video_frames.get(stream, 0) >= 10, 15)
    assert bob.keyframes[stream] >= 1, "a subscriber starts at a key frame"
    pub = served.node.gateway.sfu.get(room.id, stream)
    assert pub is not None and pub.frames > 0 and pub.keyframe_requests >= 1
    # Carol arrives long after Ann's first key frame: she must not wait for the next
    # periodic one (aiortc sends those every few seconds at most).
    requests_before = pub.keyframe_requests
    await carol.connect()
    await carol.join("Carol")
    await carol.publish()
    await eventually(lambda: carol.keyframes.get(stream, 0) >= 1, 5)
    waited = carol.first_keyframe_at[stream] - carol.subscribed_at[stream]
    assert waited < 1.0, f"the late subscriber waited {waited:.2f} s for a picture"
    assert pub.keyframe_requests > requests_before, "her arrival asked Ann for a key frame"
    await eventually(lambda: carol.video_frames.get(stream, 0) >= 5, 5)
    # Camera off: everyone stops watching it.
    await ann.send(type="media", camera=False, screen=False)
    await bob.expect("unsubscribe", stream_id=stream)
    await carol.expect("unsubscribe", stream_id=stream)
    assert served.node.gateway.sfu.get(room.id, stream) is None


async def test_screen_share_is_a_stream_of_its_own(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    ann, bob = await ann_and_bob(served, room, browsers)
    await bob.publish()
    await ann.publish(camera=True, screen=True)
    camera, screen = f"{ann.pid}-camera", f"{ann.pid}-screen"
    await eventually(lambda: bob.video_frames.get(screen, 0) >= 10, 15)
    await eventually(lambda: bob.video_frames.get(camera, 0) >= 10, 15)
    await ann.send(type="media", camera=True, screen=False)
    await bob.expect("unsubscribe", stream_id=screen)
    assert served.node.gateway.sfu.get(room.id, camera) is not None, "the camera goes on"
