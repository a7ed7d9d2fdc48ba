"""G.722 (ITU-T, 7 kHz wideband ADPCM) for SIP phones (F-PH1, issue 13 deliver 3).

Why G.722: it is what desk phones and softphones offer for "HD voice" after Opus, and a
caller on it hears and is heard with the 50-7000 Hz band a browser has, where G.711
stops at 3.4 kHz. Why ffmpeg's ``adpcm_g722`` through PyAV: PyAV is already a kept
library (it carries libopus for the browsers' audio, ``media.opus``), its G.722 is the
reference ADPCM in C (about 40 us to encode and 20 us to decode a 20 ms frame here), and
a numpy port of a sample-by-sample backward-adaptive coder would cost far more per leg.

Wire format (RFC 3551 section 4.5.2): static payload type 9, ``G722/8000`` in SDP and an
RTP clock of 8000 for historical reasons although the audio is sampled at 16 kHz: a
20 ms packet is 160 bytes, 320 samples, and advances the timestamp by 160.

Both directions are stateful (ADPCM predictors), so one encoder per stream and one
decoder per leg; the jitter buffer decodes packets in order (``media.jitter``).
"""

from __future__ import annotations

import fractions
from typing import Final

import av
import numpy as np
import numpy.typing as npt

__all__ = ["RATE", "RTP_CLOCK", "G722Decoder", "G722Encoder"]

RATE: Final = 16_000  #: audio sample rate
RTP_CLOCK: Final = 8_000  #: RTP timestamp clock (RFC 3551 section 4.5.2)
_TIME_BASE: Final = fractions.Fraction(1, RATE)
Int16Array = npt.NDArray[np.int16]


class G722Encoder:
    """16 kHz int16 samples in, G.722 bytes out (one byte per two samples)."""

    def __init__(self) -> None:
        self._ctx = av.CodecContext.create("adpcm_g722", "w")
        self._ctx.sample_rate = RATE
        self._ctx.format = "s16"
        self._ctx.layout = "mono"
        self._ctx.time_base = _TIME_BASE
        self._pts = 0

    def encode(self, samples: npt.ArrayLike) -> bytes:
        pcm = np.ascontiguousarray(samples, dtype=np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        self._pts += pcm.shape[1]
        return b"".join(bytes(p) for p in self._ctx.encode(frame))


class G722Decoder:
    """G.722 bytes in, 16 kHz int16 samples out; a bad payload decodes to nothing."""

    def __init__(self) -> None:
        self._ctx = av.CodecContext.create("adpcm_g722", "r")
        self._ctx.sample_rate = RATE
        self._ctx.layout = "mono"

    def decode(self, payload: bytes) -> Int16Array:
        if not payload:
            return np.zeros(0, np.int16)
        try:
            frames = self._ctx.decode(av.Packet(bytes(payload)))
        except av.FFmpegError:
            return np.zeros(0, np.int16)
        parts = [f.to_ndarray().reshape(-1).astype(np.int16, copy=False) for f in frames]
        if not parts:
            return np.zeros(0, np.int16)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
