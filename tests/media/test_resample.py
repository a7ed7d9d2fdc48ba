"""Resampler quality: tones survive, aliases do not, and frame boundaries do not click."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from confero.media.resample import MIXER_RATE, Resampler, _filter, make_resampler
from confero.media.tone import detect_frequency, goertzel_power, rms, sine, tone_snr_db


def run_frames(resampler: Resampler, samples: np.ndarray, frame_ms: int = 20) -> np.ndarray:
    size = resampler.from_rate * frame_ms // 1000
    frames = [resampler.process(samples[i : i + size]) for i in range(0, samples.size, size)]
    return np.concatenate(frames)


def settled(x: np.ndarray, rate: int, skip: float = 0.05) -> np.ndarray:
    """Drop the filter's start-up transient."""
    return x[int(skip * rate) :]


def test_1khz_survives_8k_to_48k_to_8k() -> None:
    tone = sine(1000, 1.0, 8000, amplitude=0.5)
    up = run_frames(make_resampler(8000), tone)
    assert up.size == 48000
    back = run_frames(make_resampler(MIXER_RATE, 8000), up)
    assert back.size == 8000
    out = settled(back, 8000)
    assert tone_snr_db(out, 8000, 1000) > 30
    assert detect_frequency(out, 8000) == pytest.approx(1000, abs=1)
    assert rms(out) == pytest.approx(rms(tone), rel=0.01)  # no gain change in the pass band


def test_upsampling_keeps_the_tone_and_suppresses_images() -> None:
    up = settled(run_frames(make_resampler(8000), sine(1000, 1.0, 8000)), 48000)
    assert detect_frequency(up, 48000) == pytest.approx(1000, abs=1)
    assert tone_snr_db(up, 48000, 1000) > 50
    total = goertzel_power(up, 48000, 1000)
    for image in (7000, 9000, 15000, 17000):  # k * 8 kHz +- 1 kHz
        assert goertzel_power(up, 48000, image) < total * 1e-5, image


@pytest.mark.parametrize("freq", [4500, 6000, 7000, 10000, 20000])
def test_48k_to_8k_rejects_aliases_by_more_than_30_db(freq: int) -> None:
    tone = sine(freq, 1.0, 48000, amplitude=0.5)
    out = settled(run_frames(make_resampler(MIXER_RATE, 8000), tone), 8000)
    rejection_db = 20 * np.log10(rms(tone) / max(rms(out), 1e-9))
    assert rejection_db > 30, rejection_db


def test_telephone_band_passes_48k_to_8k() -> None:
    for freq in (300, 1000, 3000):
        tone = sine(freq, 1.0, 48000, amplitude=0.5)
        out = settled(run_frames(make_resampler(MIXER_RATE, 8000), tone), 8000)
        assert 20 * np.log10(rms(out) / rms(tone)) == pytest.approx(0, abs=0.5), freq
        assert detect_frequency(out, 8000) == pytest.approx(freq, abs=1), freq


def test_3500_hz_is_in_the_transition_band_and_not_folded() -> None:
    tone = sine(3500, 1.0, 48000, amplitude=0.5)
    out = settled(run_frames(make_resampler(MIXER_RATE, 8000), tone), 8000)
    gain_db = 20 * np.log10(rms(out) / rms(tone))
    assert -6 < gain_db < 0.5
    assert detect_frequency(out, 8000) == pytest.approx(3500, abs=2)


def test_16k_round_trip_and_alias_rejection() -> None:
    for freq in (1000, 6000):
        tone = sine(freq, 1.0, 16000)
        back = run_frames(
            make_resampler(MIXER_RATE, 16000), run_frames(make_resampler(16000), tone)
        )
        out = settled(back, 16000)
        assert tone_snr_db(out, 16000, freq) > 30, freq
        assert detect_frequency(out, 16000) == pytest.approx(freq, abs=1)
    alias = sine(11000, 1.0, 48000)  # folds to 5 kHz at 16 kHz
    out = settled(run_frames(make_resampler(MIXER_RATE, 16000), alias), 16000)
    assert 20 * np.log10(rms(alias) / max(rms(out), 1e-9)) > 30


@pytest.mark.parametrize(("src", "dst"), [(8000, 48000), (48000, 8000), (16000, 48000)])
def test_frames_join_without_clicks(src: int, dst: int) -> None:
    """Stateful: 20 ms frames give the same stream as one block (no boundary artefacts)."""
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(src) * 3000).astype(np.int16)
    whole = Resampler(src, dst).process(x)
    framed = run_frames(Resampler(src, dst), x)
    assert framed.size == whole.size == dst
    assert np.max(np.abs(framed.astype(int) - whole.astype(int))) <= 1


def test_frame_length_may_change_between_calls() -> None:
    x = sine(440, 0.1, 8000)
    ref = Resampler(8000, 48000).process(x)
    r = Resampler(8000, 48000)
    parts = [r.process(x[:160]), r.process(x[160:400]), r.process(x[400:])]
    assert np.max(np.abs(np.concatenate(parts).astype(int) - ref.astype(int))) <= 1


def test_reset_forgets_the_tail() -> None:
    r = Resampler(8000, 48000)
    r.process(sine(1000, 0.02, 8000))
    r.reset()
    assert not np.any(r.process(np.zeros(160, np.int16)))


def test_full_scale_input_saturates_without_wrapping() -> None:
    square = np.tile(np.array([32767] * 20 + [-32768] * 20, np.int16), 20)
    out = Resampler(8000, 48000).process(square).astype(int)
    # Reference: zero-stuff and filter in float64; its Gibbs overshoot exceeds int16.
    stuffed = np.zeros(square.size * 6)
    stuffed[::6] = square
    reference = np.convolve(stuffed, _filter(8000, 6) * 6)[: out.size]
    assert reference.max() > 32767 and reference.min() < -32768
    np.testing.assert_allclose(out, np.clip(np.rint(reference), -32768, 32767), atol=2)


def test_latency_and_sizes() -> None:
    r = make_resampler(8000)
    assert r.output_size(160) == 960
    assert 0 < r.delay_seconds < 0.005
    assert 0 < Resampler(48000, 8000).delay_seconds < 0.005


def test_bad_ratios_and_frame_lengths_are_rejected() -> None:
    with pytest.raises(ValueError):
        Resampler(44100, 48000)
    with pytest.raises(ValueError):
        Resampler(0, 48000)
    with pytest.raises(ValueError):
        Resampler(48000, 8000).process(np.zeros(961, np.int16))


def test_same_rate_is_a_copy() -> None:
    x = sine(1000, 0.02, 48000)
    y = Resampler(48000, 48000).process(x)
    np.testing.assert_array_equal(x, y)
    assert y is not x


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from([(8000, 48000), (48000, 8000), (16000, 48000), (48000, 16000)]),
    st.lists(hnp.arrays(np.int16, st.integers(0, 40)), max_size=5),
)
def test_any_frames_give_the_right_number_of_samples(
    rates: tuple[int, int], chunks: list[np.ndarray]
) -> None:
    r = Resampler(*rates)
    factor = max(rates) // min(rates)
    for chunk in chunks:
        if rates[0] > rates[1]:
            chunk = chunk[: chunk.size - chunk.size % factor]
        out = r.process(chunk)
        assert out.dtype == np.int16 and out.size == r.output_size(chunk.size)
