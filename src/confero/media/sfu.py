"""Selective forwarding of video (house rule 5): encoded frames in, the same frames out.

A publication is one participant's camera or screen. Each subscriber has its own queue
and waits for a key frame before it gets anything, because a decoder cannot start
from a delta frame; while it waits, the publisher is asked for one (PLI). Key-frame
requests are rate-limited per publication so a room of subscribers, or a subscriber on
a lossy link, cannot make the publisher send nothing but key frames.

Pure data flow: the WebRTC glue (``confero.webrtc.video``) feeds frames in and turns
requests into RTCP.

Issue 18: the node's totals (frames forwarded, key frames requested) are plain integers
in ``Sfu.totals``, one object every publication of the node adds to as it goes (an
integer increment per frame); the metrics read them when scraped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

#: The least time between two key-frame requests to one publisher.
KEYFRAME_INTERVAL = 0.3
#: Frames a slow subscriber may fall behind before its queue restarts at a key frame.
MAX_QUEUED = 30


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    data: bytes
    timestamp: int  #: 90 kHz RTP clock
    keyframe: bool


def vp8_keyframe(data: bytes) -> bool:
    """RFC 6386 §9.1: bit 0 of the frame tag is 0 for a key frame."""
    return bool(data) and not data[0] & 0x01


class FrameSink(Protocol):
    """Where a subscription's frames go when they are sent as they come (no queue)."""

    def ready(self) -> bool:
        """Whether a frame sent now would reach the subscriber."""
        ...

    def send(self, frame: EncodedFrame) -> bool:
        """Send ``frame``; False when it could not be (then the subscriber restarts at a
        key frame)."""
        ...


@dataclass
class ForwardStats:
    forwarded: int = 0
    dropped: int = 0
    keyframe_requests: int = 0


@dataclass
class SfuTotals:
    """Since the node started, over every publication (they come and go; these stay)."""

    forwarded: int = 0
    keyframe_requests: int = 0


class Subscription:
    """One subscriber's view of one publication."""

    def __init__(self, publication: Publication, subscriber_id: str) -> None:
        self.publication = publication
        self.subscriber_id = subscriber_id
        self.waiting_for_keyframe = True
        self.stats = ForwardStats()
        self._queue: asyncio.Queue[EncodedFrame | None] = asyncio.Queue()
        #: Sends each frame at once instead of queueing it (``webrtc.forward``).
        self.sink: FrameSink | None = None

    def push(self, frame: EncodedFrame) -> None:
        if self.sink is not None:
            self._deliver(frame, self.sink)
            return
        if self._queue.qsize() >= MAX_QUEUED:  # fell behind: drop, restart at a key frame
            while not self._queue.empty():
                self._queue.get_nowait()
            self.stats.dropped += MAX_QUEUED
            self.waiting_for_keyframe = True
        if self.waiting_for_keyframe:
            if not frame.keyframe:
                self.stats.dropped += 1
                self.publication.request_keyframe()
                return
            self.waiting_for_keyframe = False
        self.stats.forwarded += 1
        self.publication.totals.forwarded += 1
        self._queue.put_nowait(frame)

    def _deliver(self, frame: EncodedFrame, sink: FrameSink) -> None:
        """No queue: the frame goes out now or not at all. A subscriber whose connection
        is not up yet asks for no key frame (one that never connects would have the
        publisher send key frames forever); it asks once it is."""
        if self.waiting_for_keyframe and not frame.keyframe:
            self.stats.dropped += 1
            if sink.ready():
                self.publication.request_keyframe()
            return
        if sink.send(frame):
            self.waiting_for_keyframe = False
            self.stats.forwarded += 1
            self.publication.totals.forwarded += 1
        else:
            self.waiting_for_keyframe = True
            self.stats.dropped += 1

    def picture_lost(self) -> None:
        """The subscriber's decoder lost its picture (PLI/FIR from its browser)."""
        self.publication.request_keyframe()

    async def next(self) -> EncodedFrame | None:
        """The next frame; None once the subscription is closed."""
        return await self._queue.get()

    def close(self) -> None:
        self._queue.put_nowait(None)


@dataclass
class Publication:
    id: str
    participant_id: str
    kind: str  #: "camera" | "screen"
    #: Asks the publisher for a key frame (an RTCP PLI on its connection).
    send_keyframe_request: Callable[[], None] = lambda: None
    clock: Callable[[], float] = time.monotonic
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    frames: int = 0
    keyframe_requests: int = 0
    #: The node's totals once published (``Sfu.publish``); its own until then.
    totals: SfuTotals = field(default_factory=SfuTotals)
    _last_request: float = float("-inf")

    def subscribe(self, subscriber_id: str) -> Subscription:
        old = self.subscriptions.pop(subscriber_id, None)
        if old is not None:
            old.close()
        sub = self.subscriptions[subscriber_id] = Subscription(self, subscriber_id)
        self.request_keyframe()  # a late subscriber should see a picture within a second
        return sub

    def unsubscribe(self, subscriber_id: str) -> None:
        sub = self.subscriptions.pop(subscriber_id, None)
        if sub is not None:
            sub.close()

    def forward(self, frame: EncodedFrame) -> None:
        self.frames += 1
        for sub in self.subscriptions.values():
            sub.push(frame)

    def request_keyframe(self) -> None:
        now = self.clock()
        if now - self._last_request < KEYFRAME_INTERVAL:
            return
        self._last_request = now
        self.keyframe_requests += 1
        self.totals.keyframe_requests += 1
        self.send_keyframe_request()

    def close(self) -> None:
        for sub in self.subscriptions.values():
            sub.close()
        self.subscriptions.clear()


class Sfu:
    """Every publication of this node, by room."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Publication]] = {}
        self.totals = SfuTotals()

    def publish(self, room_id: str, publication: Publication) -> Publication:
        publication.totals = self.totals
        room = self._rooms.setdefault(room_id, {})
        old = room.pop(publication.id, None)
        if old is not None:
            old.close()
        room[publication.id] = publication
        return publication

    def unpublish(self, room_id: str, publication_id: str) -> Publication | None:
        room = self._rooms.get(room_id, {})
        pub = room.pop(publication_id, None)
        if pub is not None:
            pub.close()
        if not room:
            self._rooms.pop(room_id, None)
        return pub

    def publications(self, room_id: str) -> list[Publication]:
        return list(self._rooms.get(room_id, {}).values())

    def get(self, room_id: str, publication_id: str) -> Publication | None:
        return self._rooms.get(room_id, {}).get(publication_id)
