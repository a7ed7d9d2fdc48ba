"""The phone codec registry (issue 13): what ``codec_for`` gives for each negotiated
codec, and that each one's encoder and decoder carry a tone at its own rate."""

from __future__ import annotations

import numpy as np
import pytest

from confero.media.phone_codecs import (
    G722,
    OPUS,
    PCMA,
    PCMU,
    PHONE_CODECS,
    PhoneCodec,
    codec_for,
)
from confero.media.tone import detect_frequency, rms, sine


def test_codec_for_names_rates_steps_and_dynamic_payload_types() -> None:
    assert set(PHONE_CODECS) == {"PCMU", "PCMA", "G722", "OPUS"}
    assert codec_for("PCMU", 0) is PCMU
    assert codec_for("g722", 9) is G722
    opus = codec_for("OPUS", 107)  # whatever dynamic type the offerer chose
    assert (opus.name, opus.payload_type, opus.clock_rate, opus.sample_rate) == (
        "OPUS",
        107,
        48_000,
        48_000,
    )
    assert OPUS.payload_type == 111
    steps = {c.name: (c.timestamp_step, c.frame_samples) for c in PHONE_CODECS.values()}
    assert steps == {
        "PCMU": (160, 160),
        "PCMA": (160, 160),
        "G722": (160, 320),  # RFC 3551 4.5.2: 8000 Hz clock, 16 kHz audio
        "OPUS": (960, 960),
    }
    with pytest.raises(KeyError):
        codec_for("G729", 18)


@pytest.mark.parametrize("codec", [PCMU, PCMA, G722, OPUS], ids=lambda c: c.name)
def test_each_codec_keeps_a_1khz_tone_and_shrugs_off_garbage(codec: PhoneCodec) -> None:
    c = codec
    encoder, decoder = c.make_encoder(), c.make_decoder()
    tone = sine(1000, 1.0, c.sample_rate, amplitude=0.3)
    payloads = [encoder.encode(f) for f in tone.reshape(-1, c.frame_samples)]
    heard = np.concatenate([decoder.decode(p) for p in payloads if p])
    settled = heard[c.sample_rate // 5 :]
    assert abs(detect_frequency(settled, c.sample_rate) - 1000) < 5
    assert 0.7 < rms(settled) / rms(tone) < 1.3
    garbage = c.make_decoder().decode(b"\xff\x00\x13" * 7)  # never raises
    assert garbage.dtype == np.int16
