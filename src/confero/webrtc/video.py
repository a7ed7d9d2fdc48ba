"""Video through aiortc without decoding it (house rule 5: SFU, never decode).

aiortc's receiver reassembles RTP into encoded frames and hands them to a decoder
thread. We replace the decoder it picks for video with one that returns the encoded
frame untouched, so the remote track yields ``EncodedFrame``s. This is a module-level
hook in aiortc (``rtcrtpreceiver.get_decoder``), installed once: Confero never wants
decoded video on the server. Audio keeps aiortc's real Opus decoder.

Outbound, frames go to each subscriber's connection directly (``webrtc.forward``).
``ForwardTrack`` is the subscriber's track there only for the offer's stream; as a
track whose ``recv`` yields ``av.Packet``s from the subscription's queue (aiortc's
sender then only packetizes) it is what ``bench.sfu_forward`` measures against.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from typing import Any

import av
from aiortc import RTCRtpReceiver
from aiortc import rtcrtpreceiver as _receiver_module
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from confero.media.sfu import EncodedFrame, Publication, Subscription, vp8_keyframe

VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)


class PassThroughDecoder(Decoder):
    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        data = bytes(encoded_frame.data)
        return [EncodedFrame(data, encoded_frame.timestamp, vp8_keyframe(data))]


_aiortc_get_decoder = _receiver_module.get_decoder  # type: ignore[attr-defined]


def _get_decoder(codec: RTCRtpCodecParameters) -> Decoder:
    if codec.mimeType.lower().startswith("video/"):
        return PassThroughDecoder()
    return _aiortc_get_decoder(codec)


_receiver_module.get_decoder = _get_decoder  # type: ignore[attr-defined]


def vp8_only(capabilities: Any) -> list[Any]:
    """Our key-frame test reads VP8's frame tag, and subscribers must get what was sent."""
    return [c for c in capabilities.codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]


def request_keyframe(receiver: RTCRtpReceiver) -> None:
    """Send a PLI to the browser that sends on this receiver."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return
    ssrc = sources[0].source
    send_pli = receiver._send_rtcp_pli  # aiortc has no public API for this
    task = asyncio.ensure_future(send_pli(ssrc))
    task.add_done_callback(_ignore_result)


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class PublishedTrack:
    """One incoming video track; forwarded only while its publication is set."""

    def __init__(self, track: MediaStreamTrack, receiver: RTCRtpReceiver) -> None:
        self.track = track
        self.receiver = receiver
        self.publication: Publication | None = None
        self.frames = 0
        self._task = asyncio.create_task(self._pump(), name=f"video-in-{track.id}")

    async def _pump(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.track.recv()
                if not isinstance(frame, EncodedFrame):
                    continue
                self.frames += 1
                if self.publication is not None:
                    self.publication.forward(frame)

    def request_keyframe(self) -> None:
        request_keyframe(self.receiver)

    def close(self) -> None:
        self._task.cancel()


class ForwardTrack(MediaStreamTrack):
    """A subscriber's copy of one publication, as pre-encoded packets."""

    kind = "video"

    def __init__(self, subscription: Subscription) -> None:
        super().__init__()
        self.subscription = subscription

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.subscription.next()
        if frame is None:
            self.stop()
            raise MediaStreamError
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = VIDEO_TIME_BASE
        return packet
