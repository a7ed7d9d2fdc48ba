"""G.722 for wideband phones (issue 13 deliver 3): the wire format of RFC 3551 4.5.2 and
what a listener notices, a tone kept and the 7 kHz band G.711 cuts off."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from confero.media.g722 import G722Decoder, G722Encoder
from confero.media.leg import SharedEncoder
from confero.media.phone_codecs import G722, PCMU, PhoneCodec
from confero.media.resample import Resampler
from confero.media.tone import detect_frequency, rms, sine


def _through(codec: PhoneCodec, signal: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """A 48 kHz mix as a phone on ``codec`` hears it, back at 48 kHz (the first 0.2 s,
    filters and encoder settling, left out)."""
    encoder = SharedEncoder(codec)
    decoder = codec.make_decoder()
    up = Resampler(codec.sample_rate, 48_000)
    out = [up.process(decoder.decode(encoder.encode(f))) for f in signal.reshape(-1, 960)]
    return np.concatenate(out)[9600:]


def test_a_20ms_frame_is_160_bytes_and_a_tone_comes_back() -> None:
    encoder, decoder = G722Encoder(), G722Decoder()
    tone = sine(1000, 0.5, 16_000, amplitude=0.3)
    payloads = [encoder.encode(f) for f in tone.reshape(-1, 320)]
    assert {len(p) for p in payloads} == {160}, "one byte per two samples (64 kbit/s)"
    heard = np.concatenate([decoder.decode(p) for p in payloads])
    assert heard.size == tone.size
    assert abs(detect_frequency(heard[1600:], 16_000) - 1000) < 5
    assert 0.8 < rms(heard[1600:]) / rms(tone) < 1.2
    assert decoder.decode(b"").size == 0


def test_7khz_survives_g722_but_not_g711() -> None:
    """The point of wideband: a phone on G.722 hears (and is heard with) 7 kHz."""
    high = sine(7000, 1.0, 48_000, amplitude=0.3)
    wide = _through(G722, high)
    narrow = _through(PCMU, high)
    assert rms(wide) > 0.7 * rms(high)
    assert abs(detect_frequency(wide, 48_000) - 7000) < 20
    assert rms(narrow) < 0.01 * rms(high), "G.711 stops at 3.4 kHz"
    speech_band = _through(G722, sine(1000, 1.0, 48_000, amplitude=0.3))
    assert abs(detect_frequency(speech_band, 48_000) - 1000) < 5
