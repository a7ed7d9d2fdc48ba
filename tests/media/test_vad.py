"""The speech gate: speech opens it at once, it stays open through short pauses and
closes on lasting near-silence, so silent legs share the full mix."""

from __future__ import annotations

import numpy as np

from confero.media.tone import sine
from confero.media.vad import HANGOVER, SpeechGate

VOICE = sine(300, 0.02, 8000, amplitude=0.05)  # about -29 dBFS
HUM = sine(50, 0.02, 8000, amplitude=0.001)  # about -63 dBFS: line noise
SILENCE = np.zeros(160, dtype=np.int16)


def test_voice_opens_noise_does_not() -> None:
    gate = SpeechGate()
    assert not gate(HUM)
    assert not gate(SILENCE)
    assert gate(VOICE)


def test_stays_open_for_the_hangover_then_closes() -> None:
    gate = SpeechGate()
    gate(VOICE)
    assert all(gate(HUM) for _ in range(HANGOVER)), "the ends of words are kept"
    assert not gate(HUM)
    assert gate(VOICE), "and opens again at once"


def test_empty_frame_is_silence() -> None:
    assert not SpeechGate()(np.zeros(0, dtype=np.int16))
