"""Decoding a browser's media on the event loop instead of in aiortc's decoder thread
(issue 15 P2, P3).

aiortc gives every receiver a thread: each reassembled frame goes into a
``queue.Queue``, the thread wakes, takes the interpreter lock, decodes, and hands the
result back with ``run_coroutine_threadsafe`` (a wake-up of the event loop). Our video
"decoder" returns the frame untouched (``webrtc.video``) and an Opus frame decodes in
well under a tenth of a millisecond, so the thread buys nothing on a node whose media
runs on one core, and costs two context switches and a hand-over of the interpreter
lock per frame: with 12 cameras on, the event loop was preempted about 1,300 times a
second and the audio mix started late (``bench.video_legs``). Here the receiver's
queue decodes as it is given a frame, on the loop, and puts the result straight into
the track's queue.

aiortc starts the thread when the connection comes up and hands it the receiver's
queue; with ours in place the thread just waits for the end, then ends the track as
before. ``install`` must run before that (right after the remote description is set).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import av
from aiortc import RTCRtpReceiver
from aiortc import rtcrtpreceiver as _receiver_module

log = logging.getLogger(__name__)
_PRIVATE = "_RTCRtpReceiver__"


class InlineDecoding:
    """Stands in for a receiver's decoder queue: ``put`` decodes at once."""

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        track = receiver._track
        assert track is not None, "a receiver that receives has its track"
        self._output: asyncio.Queue[Any] = track._queue
        self._error: threading.Event = getattr(receiver, f"{_PRIVATE}decoder_error")
        self._ended = threading.Event()
        self._codec_name: str | None = None
        self._decoder: Any = None
        self.frames = 0

    def put(self, task: tuple[Any, Any] | None) -> None:
        if task is None:  # the receiver stops: let its thread end the track
            self._ended.set()
            return
        codec, encoded_frame = task
        if codec.name != self._codec_name:
            # the module's own lookup, so webrtc.video's pass-through for video applies
            self._decoder = _receiver_module.get_decoder(codec)  # type: ignore[attr-defined]
            self._codec_name = codec.name
        try:
            frames = self._decoder.decode(encoded_frame)
        except av.FFmpegError as exc:  # keep the decoder: the next key frame recovers
            log.debug("cannot decode a %s frame: %s", codec.name, exc)
            self._error.set()  # aiortc asks the sender for a key frame (PLI)
            return
        for frame in frames:
            self.frames += 1
            self._output.put_nowait(frame)

    def get(self) -> None:
        """aiortc's thread waits here until the receiver stops, then ends the track."""
        self._ended.wait()


def install(receiver: RTCRtpReceiver) -> InlineDecoding:
    inline = InlineDecoding(receiver)
    assert getattr(receiver, f"{_PRIVATE}decoder_thread") is None, "before the thread starts"
    setattr(receiver, f"{_PRIVATE}decoder_queue", inline)
    return inline
