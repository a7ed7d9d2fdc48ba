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


def test_to_mono_takes_the_voice_of_packed_stereo_and_folds_planar_float() -> None:
    import av

    from confero.media.opus import to_mono

    left = np.array([1000, -2000, 30000, -32768], dtype=np.int16)
    right = np.array([3000, 2000, 30000, -32768], dtype=np.int16)
    packed = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
    assert to_mono(frame).tolist() == left.tolist()
    planar = np.stack([left, right]).astype(np.float32) / 32767.0
    frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
    assert np.abs(to_mono(frame).astype(int) - [2000, 0, 30000, -32767]).max() <= 2
