"""Selective forwarding: frames reach every subscriber unchanged, each starts at a key
frame, and key-frame requests reach the publisher at a bounded rate."""

from __future__ import annotations

from confero.media.sfu import (
    KEYFRAME_INTERVAL,
    MAX_QUEUED,
    EncodedFrame,
    Publication,
    Sfu,
    vp8_keyframe,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key(n: int) -> EncodedFrame:
    return EncodedFrame(bytes([0x10, n]), n * 3000, True)


def delta(n: int) -> EncodedFrame:
    return EncodedFrame(bytes([0x11, n]), n * 3000, False)


def drain(sub) -> list[EncodedFrame]:
    out = []
    while not sub._queue.empty():
        frame = sub._queue.get_nowait()
        if frame is not None:
            out.append(frame)
    return out


def test_vp8_key_frame_bit() -> None:
    assert vp8_keyframe(b"\x10\x02\x00\x9d\x01\x2a")  # RFC 6386: P bit 0 = key frame
    assert not vp8_keyframe(b"\x31\x00")
    assert not vp8_keyframe(b"")


def test_subscriber_starts_at_a_key_frame_and_gets_frames_unchanged() -> None:
    requests: list[float] = []
    clock = Clock()
    pub = Publication("p-camera", "p", "camera", lambda: requests.append(clock.now), clock)
    sub = pub.subscribe("s")
    assert requests == [100.0], "a new subscriber asks for a key frame at once"
    pub.forward(delta(1))
    pub.forward(delta(2))
    assert drain(sub) == []
    pub.forward(key(3))
    pub.forward(delta(4))
    assert drain(sub) == [key(3), delta(4)]


def test_key_frame_requests_are_rate_limited() -> None:
    requests: list[float] = []
    clock = Clock()
    pub = Publication("p-camera", "p", "camera", lambda: requests.append(clock.now), clock)
    pub.subscribe("a")
    pub.subscribe("b")
    for _ in range(10):
        pub.forward(delta(1))
        sub = pub.subscriptions["a"]
        sub.picture_lost()
    assert len(requests) == 1
    clock.now += KEYFRAME_INTERVAL + 0.01
    pub.subscriptions["b"].picture_lost()
    assert len(requests) == 2


def test_slow_subscriber_restarts_at_a_key_frame_without_slowing_others() -> None:
    pub = Publication("p-camera", "p", "camera")
    slow, fast = pub.subscribe("slow"), pub.subscribe("fast")
    pub.forward(key(0))
    got = drain(fast)
    for n in range(1, MAX_QUEUED + 5):
        pub.forward(delta(n))
        got += drain(fast)
    assert len(got) == MAX_QUEUED + 5
    assert slow.waiting_for_keyframe and slow.stats.dropped >= MAX_QUEUED
    pub.forward(key(99))
    assert drain(slow) == [key(99)]


def test_unpublish_ends_every_subscription() -> None:
    sfu = Sfu()
    pub = sfu.publish("room", Publication("p-camera", "p", "camera"))
    sub = pub.subscribe("s")
    assert sfu.publications("room") == [pub]
    sfu.unpublish("room", "p-camera")
    assert sfu.publications("room") == []
    assert sub._queue.get_nowait() is None, "the forward track sees the end"
