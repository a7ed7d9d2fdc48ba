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


class _Sink:
    """A connection that comes up when told to, and may drop out."""

    def __init__(self) -> None:
        self.up = False
        self.sent: list[EncodedFrame] = []

    def ready(self) -> bool:
        return self.up

    def send(self, frame: EncodedFrame) -> bool:
        if self.up:
            self.sent.append(frame)
        return self.up


def test_a_sink_gets_frames_at_once_from_a_key_frame_and_its_connection_asks_when_up() -> None:
    """Issue 15 P3: frames sent as they come (no queue). A subscriber whose connection
    is not up asks for no key frame (one that never connects must not make the
    publisher send key frames forever); once up it asks, starts at a key frame, and
    starts again at one when a frame could not be sent."""
    requests: list[float] = []
    clock = Clock()
    pub = Publication("p-camera", "p", "camera", lambda: requests.append(clock.now), clock)
    sub = pub.subscribe("s")
    sink = _Sink()
    sub.sink = sink
    for t in range(10):
        clock.now += 0.1
        pub.forward(delta(t))
    assert requests == [100.0], "only the subscribe's own request while not connected"
    pub.forward(key(10))
    assert sink.sent == [] and sub.waiting_for_keyframe
    sink.up = True
    clock.now += 1
    pub.forward(delta(11))
    assert len(requests) == 2, "connected: it asks"
    pub.forward(key(12))
    pub.forward(delta(13))
    assert sink.sent == [key(12), delta(13)] and drain(sub) == []
    sink.up = False
    pub.forward(delta(14))
    sink.up = True
    pub.forward(delta(15))
    assert sink.sent[-1] == delta(13), "after a frame it could not send: a key frame first"
    pub.forward(key(16))
    assert sink.sent[-1] == key(16)
    assert (sub.stats.forwarded, sub.stats.dropped) == (3, 14)


def test_the_node_totals_count_every_publication_and_outlive_it() -> None:
    """Issue 18: frames forwarded and key frames requested, node-wide, for the metrics."""
    clock = Clock()
    sfu = Sfu()
    asked: list[str] = []
    pub = sfu.publish(
        "room",
        Publication("cam", "p1", "camera", lambda: asked.append("pli"), clock=clock),
    )
    a, b = pub.subscribe("a"), pub.subscribe("b")
    pub.forward(delta(1))  # both wait for a key frame: one request (rate-limited)
    clock.now += KEYFRAME_INTERVAL
    pub.forward(key(2))
    pub.forward(delta(3))
    assert len(drain(a)) == len(drain(b)) == 2
    assert sfu.totals.forwarded == 4
    assert sfu.totals.keyframe_requests == len(asked) == pub.keyframe_requests
    sfu.unpublish("room", "cam")
    assert sfu.totals.forwarded == 4, "the totals stay when the publication goes"
