"""Opus for browser legs (RFC 7587): 48 kHz, the mixer's own rate, so no resampling.

libopus through PyAV (house rule 5). Browsers decode our stream with their own decoder;
their microphones are decoded by aiortc's receiver. What we encode ourselves is the
room's mix, once per distinct output (the engine shares one encoder between every
listener who hears the same mix) or once per leg for a mix-minus.
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass
from typing import Final

import av
import numpy as np
import numpy.typing as npt

RATE = 48_000
FRAME = 960  # 20 ms
TIME_BASE = fractions.Fraction(1, RATE)
Frame = npt.NDArray[np.int16]


@dataclass(frozen=True)
class OpusCodec:
    """The engine groups legs by ``name`` to share one encoder per mix."""

    name: str = "opus"
    clock_rate: int = RATE
    bit_rate: int = 32_000


OPUS: Final = OpusCodec()


class OpusEncoder:
    """Mono 20 ms frames in, one Opus packet out per frame (after libopus's start-up)."""

    def __init__(self, codec: OpusCodec = OPUS) -> None:
        self._ctx = av.CodecContext.create("libopus", "w")
        self._ctx.bit_rate = codec.bit_rate
        self._ctx.sample_rate = RATE
        self._ctx.format = "s16"
        self._ctx.layout = "mono"
        self._ctx.time_base = TIME_BASE
        self._ctx.options = {"application": "voip", "frame_duration": "20"}
        self._pts = 0

    def encode(self, frame: Frame) -> bytes:
        """One packet's payload; empty while the encoder still fills its look-ahead."""
        audio = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(frame, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        audio.sample_rate = RATE
        audio.pts = self._pts
        audio.time_base = TIME_BASE
        self._pts += frame.size
        return b"".join(bytes(p) for p in self._ctx.encode(audio))


class OpusDecoder:
    """For tests and benchmarks: what a browser would hear."""

    def __init__(self) -> None:
        self._ctx = av.CodecContext.create("libopus", "r")
        self._ctx.sample_rate = RATE
        self._ctx.format = "s16"
        self._ctx.layout = "mono"

    def decode(self, payload: bytes) -> Frame:
        packet = av.Packet(payload)
        frames = self._ctx.decode(packet)
        if not frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([to_mono(f) for f in frames])


def to_mono(frame: av.AudioFrame) -> Frame:
    """Any s16/fltp frame of one or two channels as mono int16 samples."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.name == "s16" and not frame.format.is_planar:
        # aiortc's Opus decoder always gives packed stereo s16, and browsers send a mono
        # microphone (both channels equal): the left channel is the voice, at a seventh
        # of the cost of averaging (``make bench``).
        return np.ascontiguousarray(data.reshape(-1, channels)[:, 0], dtype=np.int16)
    if frame.format.is_planar:
        mono = data.mean(axis=0) if data.shape[0] > 1 else data[0]
    else:
        flat = data.reshape(-1)
        mono = flat.reshape(-1, channels).mean(axis=1) if channels > 1 else flat
    if np.issubdtype(mono.dtype, np.floating) and frame.format.name.startswith("flt"):
        mono = mono * 32767.0
    out: Frame = np.clip(mono, -32768, 32767).astype(np.int16)
    return out
