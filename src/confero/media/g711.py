"""G.711 µ-law (PCMU) and A-law (PCMA) with precomputed numpy lookup tables.

Why tables: every phone leg is encoded and decoded 50 times a second and a conference
may hold hundreds of legs, so each call must be one vectorized numpy ``take`` with no
per-sample Python. The tables are built once at import, vectorized, from the ITU-T G.711
segment rules (the same decision levels as the Sun reference ``g711.c`` that CPython's
``audioop`` uses, which the tests compare against bit for bit for every input):

* decode: a 256-entry ``int16`` table per law, indexed by the code byte;
* encode: a 65536-entry ``uint8`` table per law, indexed by the 16-bit linear sample
  reinterpreted as ``uint16`` (µ-law keeps the top 14 bits, A-law the top 13, as G.711
  specifies).

Payload types are the static ones of RFC 3551 section 6 (PCMU = 0, PCMA = 8, 8 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALAW_DECODE",
    "ALAW_ENCODE",
    "ALAW_SILENCE",
    "G711_CODECS",
    "PCMA",
    "PCMU",
    "ULAW_DECODE",
    "ULAW_ENCODE",
    "ULAW_SILENCE",
    "G711Codec",
    "decode_alaw",
    "decode_ulaw",
    "encode_alaw",
    "encode_ulaw",
    "to_int16",
]

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]

# Segment end points of G.711 (table 1a/2a), on the 14-bit (µ) and 13-bit (A) scales.
_SEG_UEND: Final = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], np.int32)
_SEG_AEND: Final = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], np.int32)
_ULAW_BIAS: Final = 0x84
_ULAW_CLIP: Final = 8159

#: Code for digital silence (linear 0): µ-law 0xFF, A-law 0xD5.
ULAW_SILENCE: Final = 0xFF
ALAW_SILENCE: Final = 0xD5


def _ulaw_decode_table() -> Int16Array:
    code = np.arange(256, dtype=np.int32)
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    lin = np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS)
    return lin.astype(np.int16)


def _alaw_decode_table() -> Int16Array:
    code = np.arange(256, dtype=np.int32)
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    lin = np.where(a & 0x80, t, -t)
    return lin.astype(np.int16)


def _linear_by_index() -> npt.NDArray[np.int32]:
    """The int16 value of every uint16 table index, as int32 (index i holds int16(i))."""
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)


def _ulaw_encode_table() -> UInt8Array:
    pcm = _linear_by_index() >> 2  # 14-bit two's complement, arithmetic shift
    negative = pcm < 0
    mask = np.where(negative, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_SEG_UEND, mag, side="left")
    quant = (mag >> np.minimum(seg + 1, 31)) & 0x0F
    uval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | quant)
    return (uval ^ mask).astype(np.uint8)


def _alaw_encode_table() -> UInt8Array:
    pcm = _linear_by_index() >> 3  # 13-bit two's complement
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5)
    mag = np.where(negative, -pcm - 1, pcm)
    seg = np.searchsorted(_SEG_AEND, mag, side="left")
    shift = np.where(seg < 2, 1, np.minimum(seg, 7))
    quant = (mag >> shift) & 0x0F
    aval = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | quant)
    return (aval ^ mask).astype(np.uint8)


ULAW_DECODE: Final[Int16Array] = _ulaw_decode_table()
ALAW_DECODE: Final[Int16Array] = _alaw_decode_table()
ULAW_ENCODE: Final[UInt8Array] = _ulaw_encode_table()
ALAW_ENCODE: Final[UInt8Array] = _alaw_encode_table()
for _table in (ULAW_DECODE, ALAW_DECODE, ULAW_ENCODE, ALAW_ENCODE):
    _table.setflags(write=False)


def to_int16(samples: npt.ArrayLike) -> Int16Array:
    """Return ``samples`` as int16, saturating (a mixer's int32/float sum is clipped, not wrapped).

    Floats are rounded to the nearest integer first. An int16 array is returned unchanged.
    """
    arr: npt.NDArray[Any] = np.asarray(samples)
    if arr.dtype == np.int16:
        same: Int16Array = arr
        return same
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.rint(arr)
    result: Int16Array = np.clip(arr, -32768, 32767).astype(np.int16)
    return result


def _codes(payload: bytes | bytearray | memoryview | UInt8Array) -> UInt8Array:
    if isinstance(payload, np.ndarray):
        return payload.astype(np.uint8, copy=False)
    return np.frombuffer(payload, dtype=np.uint8)


def encode_ulaw(samples: npt.ArrayLike) -> bytes:
    """Encode linear 16-bit samples (saturated to int16 first) to µ-law bytes."""
    return ULAW_ENCODE[to_int16(samples).view(np.uint16)].tobytes()


def encode_alaw(samples: npt.ArrayLike) -> bytes:
    """Encode linear 16-bit samples (saturated to int16 first) to A-law bytes."""
    return ALAW_ENCODE[to_int16(samples).view(np.uint16)].tobytes()


def decode_ulaw(payload: bytes | bytearray | memoryview | UInt8Array) -> Int16Array:
    """Decode µ-law bytes to a new int16 array (one sample per byte)."""
    return ULAW_DECODE[_codes(payload)]


def decode_alaw(payload: bytes | bytearray | memoryview | UInt8Array) -> Int16Array:
    """Decode A-law bytes to a new int16 array (one sample per byte)."""
    return ALAW_DECODE[_codes(payload)]


@dataclass(frozen=True, slots=True)
class G711Codec:
    """One G.711 law as an RTP audio codec: names, static payload type, rate, tables."""

    name: str  #: encoding name as written in SDP ``a=rtpmap`` (RFC 3551)
    payload_type: int
    encode_table: UInt8Array
    decode_table: Int16Array
    silence_code: int
    clock_rate: int = 8000

    def encode(self, samples: npt.ArrayLike) -> bytes:
        """Linear samples (any numeric dtype, saturated to int16) to code bytes."""
        return self.encode_table[to_int16(samples).view(np.uint16)].tobytes()

    def decode(self, payload: bytes | bytearray | memoryview | UInt8Array) -> Int16Array:
        """Code bytes to linear int16 samples."""
        if isinstance(payload, bytes):  # an RTP payload: the per-packet case
            return self.decode_table.take(np.frombuffer(payload, np.uint8))
        return self.decode_table[_codes(payload)]

    def codes_below(self, level: int) -> bytes:
        """Every code whose sample is quieter than ``level`` (absolute value)."""
        return bytes(
            int(c) for c in np.flatnonzero(np.abs(self.decode_table.astype(np.int32)) < level)
        )

    def silence(self, samples: int) -> bytes:
        """A payload of ``samples`` codes of digital silence."""
        return bytes([self.silence_code]) * samples


PCMU: Final = G711Codec("PCMU", 0, ULAW_ENCODE, ULAW_DECODE, ULAW_SILENCE)
PCMA: Final = G711Codec("PCMA", 8, ALAW_ENCODE, ALAW_DECODE, ALAW_SILENCE)
#: By encoding name, as SDP negotiation names the chosen codec (``sip.offer_answer``).
G711_CODECS: Final[dict[str, G711Codec]] = {PCMU.name: PCMU, PCMA.name: PCMA}
