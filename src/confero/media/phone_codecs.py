"""The audio codecs a SIP phone leg can run, by SDP encoding name (F-PH1, issue 13).

Why one registry: SDP negotiation (``sip.offer_answer``, which knows nothing of media,
ARCHITECTURE rule 1) names the chosen codec and its payload type; the phone layer turns
that into a :class:`PhoneCodec` here with :func:`codec_for`, and the RTP leg
(``media.leg``) and the engine's shared encoder (``media.engine``) need nothing else to
run it: the payload type, the RTP clock, the audio rate to resample from and to, the
timestamp step of a 20 ms packet, and fresh encoder/decoder objects.

* PCMU, PCMA (G.711, RFC 3551): 8 kHz, stateless lookup tables; the encoder and decoder
  are the shared :class:`~confero.media.g711.G711Codec` itself, so the narrowband
  fallback costs what it always did.
* G722 (RFC 3551 4.5.2): 16 kHz audio on an 8000 Hz RTP clock (160 timestamp units
  carry 320 samples), stateful ADPCM (``media.g722``).
* OPUS (RFC 7587): 48 kHz, the mixer's own rate (no resampling), RTP clock 48000;
  SDP always says ``opus/48000/2`` but we send mono, which every Opus decoder plays,
  and our decoder folds a stereo stream to mono. Its payload type is dynamic: whatever
  the negotiation chose.

Stateful codecs need one decoder per leg and one encoder per stream: ``make_encoder``
and ``make_decoder`` give fresh ones each call.

``shareable``: whether a listener may be switched between encoders of one codec, as the
engine does when a leg starts or stops talking (the shared full mix vs its own
mix-minus). G.711 has no state and Opus resynchronises within a few milliseconds, but a
G.722 decoder fed another encoder's stream stays misadapted for 20-40 ms, and its
backward-adaptive step size turns that into a burst near full scale (measured: 24000
RMS of error after a loud passage). So every G.722 leg keeps its own encoder, one
encode per listener per tick (about 40 us), and is never handed the shared payload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import av
import numpy as np
import numpy.typing as npt

from confero.media import g711, g722, opus

__all__ = [
    "G722",
    "OPUS",
    "PCMA",
    "PCMU",
    "PHONE_CODECS",
    "FrameDecoder",
    "FrameEncoder",
    "PhoneCodec",
    "codec_for",
]

Int16Array = npt.NDArray[np.int16]


class FrameEncoder(Protocol):
    def encode(self, samples: Int16Array) -> bytes: ...


class FrameDecoder(Protocol):
    def decode(self, payload: bytes) -> Int16Array: ...


@dataclass(frozen=True, slots=True)
class PhoneCodec:
    """One phone audio codec as the RTP leg runs it."""

    name: str  #: upper-case SDP encoding name: "PCMU", "PCMA", "G722", "OPUS"
    payload_type: int  #: the static one (RFC 3551) or our default dynamic one
    clock_rate: int  #: RTP timestamp clock
    sample_rate: int  #: rate of the audio the encoder takes and the decoder gives
    make_encoder: Callable[[], FrameEncoder]
    make_decoder: Callable[[], FrameDecoder]
    #: listeners may share one encoder's payload (see the module docstring)
    shareable: bool = True

    @property
    def timestamp_step(self) -> int:
        """RTP timestamp units per 20 ms packet."""
        return self.clock_rate // 50

    @property
    def frame_samples(self) -> int:
        """Audio samples per 20 ms frame."""
        return self.sample_rate // 50

    @property
    def samples_per_unit(self) -> int:
        """Audio samples per RTP timestamp unit (2 for G.722, else 1)."""
        return self.sample_rate // self.clock_rate


class _OpusDecoder:
    """libopus folded to mono; a corrupt packet decodes to nothing (never raises)."""

    def __init__(self) -> None:
        self._inner = opus.OpusDecoder()

    def decode(self, payload: bytes) -> Int16Array:
        try:
            return self._inner.decode(bytes(payload))
        except av.FFmpegError:
            return np.zeros(0, np.int16)


def _g711(codec: g711.G711Codec) -> PhoneCodec:
    return PhoneCodec(
        name=codec.name,
        payload_type=codec.payload_type,
        clock_rate=codec.clock_rate,
        sample_rate=codec.clock_rate,
        make_encoder=lambda: codec,
        make_decoder=lambda: codec,
    )


def _opus_encoder() -> FrameEncoder:
    return opus.OpusEncoder(opus.OPUS)


PCMU: Final = _g711(g711.PCMU)
PCMA: Final = _g711(g711.PCMA)
G722: Final = PhoneCodec(
    name="G722",
    payload_type=9,
    clock_rate=g722.RTP_CLOCK,
    sample_rate=g722.RATE,
    make_encoder=g722.G722Encoder,
    make_decoder=g722.G722Decoder,
    shareable=False,
)
OPUS: Final = PhoneCodec(
    name="OPUS",
    payload_type=111,
    clock_rate=opus.RATE,
    sample_rate=opus.RATE,
    make_encoder=_opus_encoder,
    make_decoder=_OpusDecoder,
)
#: By SDP encoding name (upper case), as ``sip.offer_answer.Negotiated`` names it.
PHONE_CODECS: Final[dict[str, PhoneCodec]] = {c.name: c for c in (OPUS, G722, PCMU, PCMA)}


def codec_for(name: str, payload_type: int) -> PhoneCodec:
    """The codec SDP negotiated, with the payload type it chose (dynamic for Opus).

    ``KeyError`` for a codec we do not run (negotiation only picks ones we offered).
    """
    codec = PHONE_CODECS[name.upper()]
    if codec.payload_type == payload_type:
        return codec
    return dataclasses.replace(codec, payload_type=payload_type)
