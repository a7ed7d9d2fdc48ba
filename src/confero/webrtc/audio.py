"""A browser's audio as a leg of the room's mixer (house rule 5).

Inbound: aiortc decodes the browser's Opus; we fold it to mono and keep a short queue
that the 20 ms tick drains. Quiet frames count as silence (``media.vad``): the leg then
joins the shared full mix (encoded once for all such listeners) and the talking
indicator stays dark.
Outbound: the engine hands us either our own mix-minus (we encode it) or the shared
mix's Opus payload; both leave as pre-encoded packets, written straight to the
connection (``webrtc.direct_sender``: no queue, task or awaits per packet, issue 15 P2).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
from collections import deque
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from confero.media.opus import FRAME, OPUS, OpusCodec, OpusEncoder, to_mono
from confero.media.vad import SpeechGate
from confero.webrtc.direct_sender import DirectRtpSender

Frame = npt.NDArray[np.int16]
TIME_BASE = fractions.Fraction(1, 48_000)
#: Frames kept for the mixer: more is latency, fewer is choppy audio on jitter.
MAX_QUEUED = 6
#: Prefetch before the first pull, to ride out the browser's packet jitter.
PREFETCH = 2
#: Packets waiting for aiortc's sender; a stalled connection must not grow memory.
MAX_OUTBOUND = 10


class MixTrack(MediaStreamTrack):
    """What the browser hears: the room's mix for this participant, pre-encoded."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        #: A sender has asked for a packet: until then nothing reads what is put here.
        self.reading = False

    def put(self, packet: Any) -> None:
        while self._queue.qsize() >= MAX_OUTBOUND:
            self._queue.get_nowait()
        self._queue.put_nowait(packet)

    def drop_pending(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> Any:
        self.reading = True
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.put_nowait(None)


class BrowserAudioLeg:
    def __init__(self, leg_id: str) -> None:
        self.id = leg_id
        self.track = MixTrack()
        self.received = 0
        self.sent = 0
        self._inbound: deque[Frame] = deque(maxlen=MAX_QUEUED)
        self._pending = np.zeros(0, dtype=np.int16)
        self._primed = False
        self._gate = SpeechGate()
        self._encoder: OpusEncoder | None = None
        self._pts = 0
        self._reader: asyncio.Task[None] | None = None
        #: Writes our packets straight to the connection (``webrtc.direct_sender``);
        #: without one they go through aiortc's sender via ``track``.
        self.direct: DirectRtpSender | None = None
        self._talkspurt = True

    @property
    def codec(self) -> OpusCodec:
        return OPUS

    # ------------------------------------------------------------ inbound
    def attach(self, track: MediaStreamTrack) -> None:
        """Read the browser's microphone track until it ends."""
        self.detach()
        self._reader = asyncio.create_task(self._read(track), name=f"mic-{self.id}")

    def detach(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    self.push(to_mono(frame), frame.sample_rate)

    def push(self, samples: Frame, rate: int = 48_000) -> None:
        """Decoded microphone audio, any length; cut into 20 ms mixer frames."""
        if rate != 48_000:  # browsers send Opus at 48 kHz; anything else is not ours
            return
        self.received += 1
        pending = np.concatenate([self._pending, samples]) if self._pending.size else samples
        while pending.size >= FRAME:
            self._inbound.append(pending[:FRAME])
            pending = pending[FRAME:]
        self._pending = pending

    def pull(self, now: float | None = None) -> Frame | None:
        if not self._primed:
            if len(self._inbound) < PREFETCH:
                return None
            self._primed = True
        if not self._inbound:
            self._primed = False
            return None
        frame = self._inbound.popleft()
        return frame if self._gate(frame) else None

    # ----------------------------------------------------------- outbound
    def send_frame(self, frame: Frame) -> None:
        if self._encoder is None:
            self._encoder = OpusEncoder(OPUS)
        payload = self._encoder.encode(frame)
        if payload:
            self.send_encoded(payload)

    def send_directly(self, direct: DirectRtpSender) -> None:
        """From now on our packets go out by ``direct``; what waited for aiortc's sender
        (made before the connection) is stale."""
        self.direct = direct
        self._talkspurt = True  # a new connection's stream starts here
        self.track.drop_pending()

    def send_encoded(self, payload: bytes) -> None:
        direct = self.direct
        if direct is not None:
            # RFC 3551 4.1: the marker bit on the first packet of a talkspurt
            if direct.send_payloads((payload,), self._pts, marker=self._talkspurt):
                self._talkspurt = False
                self.sent += 1
            self._pts += FRAME
            return
        if not self.track.reading:
            # No connection yet (joined, offer not made or ICE not up): a packet object
            # per tick for nobody was most of what 1,000 such participants cost the
            # tick (issue 17). The stream's clock still runs.
            self._pts += FRAME
            return
        packet = av.Packet(payload)
        packet.pts = self._pts
        packet.time_base = TIME_BASE
        self._pts += FRAME
        self.sent += 1
        self.track.put(packet)

    def close(self) -> None:
        self.detach()
        self.track.stop()
