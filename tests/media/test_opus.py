"""Opus at the mixer's rate: a tone survives encode and decode, one packet per frame."""

from __future__ import annotations

import numpy as np

from confero.media.opus import FRAME, OpusDecoder, OpusEncoder
from confero.media.tone import detect_frequency, sine


def test_tone_survives_opus_round_trip() -> None:
    enc, dec = OpusEncoder(), OpusDecoder()
    audio = sine(700, 1.0, 48_000, amplitude=0.25)
    payloads = [enc.encode(audio[i : i + FRAME]) for i in range(0, audio.size, FRAME)]
    assert all(payloads[2:]), "one packet per 20 ms frame once started"
    assert max(len(p) for p in payloads) < 200, "speech bit rate, not PCM"
    out = np.concatenate([dec.decode(p) for p in payloads if p])
    assert abs(detect_frequency(out[-24_000:], 48_000) - 700) < 10
