"""Tone helpers: the instruments other tests use to prove a caller hears another."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from confero.media.tone import (
    detect_frequency,
    goertzel_power,
    has_tone,
    level_dbfs,
    rms,
    sine,
    tone_snr_db,
)


def test_sine_shape_and_level() -> None:
    x = sine(1000, 0.5, 8000, amplitude=0.5)
    assert x.dtype == np.int16 and x.size == 4000
    assert int(np.max(np.abs(x))) == pytest.approx(16384, abs=2)
    assert level_dbfs(x) == pytest.approx(20 * math.log10(0.5), abs=0.05)
    assert level_dbfs(np.zeros(10, np.int16)) == -math.inf


def test_consecutive_sines_join_with_phase() -> None:
    a = sine(440, 0.02, 8000)
    b = sine(440, 0.02, 8000, phase=2 * math.pi * 440 * 0.02)
    np.testing.assert_array_equal(np.concatenate((a, b)), sine(440, 0.04, 8000))


@pytest.mark.parametrize(
    ("freq", "rate"),
    [(440, 8000), (1000, 8000), (3333.3, 8000), (1000, 48000), (15000, 48000), (7000, 16000)],
)
def test_detect_frequency_is_accurate_on_one_second(freq: float, rate: int) -> None:
    assert detect_frequency(sine(freq, 1.0, rate), rate) == pytest.approx(freq, abs=0.5)


def test_detect_frequency_on_one_20ms_frame() -> None:
    for freq in (400, 1000, 2500):
        assert detect_frequency(sine(freq, 0.02, 8000), 8000) == pytest.approx(freq, rel=0.02)


def test_detect_frequency_finds_the_dominant_tone_in_noise_and_mixtures() -> None:
    rng = np.random.default_rng(1)
    x = sine(1200, 0.5, 8000, amplitude=0.3).astype(float) + rng.normal(0, 2000, 4000)
    x += sine(300, 0.5, 8000, amplitude=0.1)
    assert detect_frequency(x, 8000) == pytest.approx(1200, abs=2)


def test_detect_frequency_of_silence_and_tiny_inputs() -> None:
    assert detect_frequency(np.zeros(800, np.int16), 8000) == 0.0
    assert detect_frequency(np.full(800, 7, np.int16), 8000) == 0.0  # DC only
    assert detect_frequency(np.array([1, 2], np.int16), 8000) == 0.0


def test_goertzel_power_measures_one_frequency() -> None:
    x = sine(1000, 0.1, 8000, amplitude=0.5)
    expected = (0.5 * 32767) ** 2 / 2
    assert goertzel_power(x, 8000, 1000) == pytest.approx(expected, rel=0.01)
    assert goertzel_power(x, 8000, 1000) == pytest.approx(rms(x) ** 2, rel=0.01)
    assert goertzel_power(x, 8000, 1500) < expected * 1e-4
    assert goertzel_power(np.zeros(0), 8000, 1000) == 0.0


def test_tone_snr_db_measures_added_noise() -> None:
    rng = np.random.default_rng(2)
    x = sine(1000, 1.0, 8000, amplitude=0.5).astype(float)
    assert tone_snr_db(x, 8000, 1000) > 70  # only int16 rounding
    noise = rng.normal(0, rms(x) / 10, x.size)  # 20 dB below the tone
    assert tone_snr_db(x + noise, 8000, 1000) == pytest.approx(20, abs=0.5)
    assert tone_snr_db(np.zeros(100), 8000, 1000) == -math.inf


def test_has_tone() -> None:
    x = sine(1000, 0.2, 8000, amplitude=0.2)
    assert has_tone(x, 8000, 1000)
    assert not has_tone(x, 8000, 1100)
    assert not has_tone((x // 1000).astype(np.int16), 8000, 1000)  # too quiet (-76 dBFS)
    assert not has_tone(np.zeros(1600, np.int16), 8000, 1000)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int16, st.integers(0, 2000)), st.sampled_from([8000, 16000, 48000]))
def test_detectors_never_fail(samples: np.ndarray, rate: int) -> None:
    f = detect_frequency(samples, rate)
    assert 0.0 <= f <= rate / 2
    assert goertzel_power(samples, rate, 1000.0) >= 0.0
    has_tone(samples, rate, 1000.0)
    tone_snr_db(samples, rate, 1000.0)
