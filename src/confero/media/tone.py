"""Test tones and frequency detection: how the tests prove that one caller hears another.

Why: an end-to-end test plays a tone into one leg (say 1 kHz from a phone, 440 Hz from a
browser) and checks that the other legs receive it at the right frequency and level and
that a leg does not hear itself (mix-minus). Later the IVR can use the same helpers. No
in-band DTMF detector lives here: keypad input is RFC 4733 (:mod:`confero.media.dtmf`).

* :func:`sine` makes an int16 tone.
* :func:`detect_frequency` finds the dominant frequency with a Hann-windowed, zero-padded
  FFT and Gaussian (log-parabolic) interpolation between bins, accurate to a small fraction
  of a bin.
* :func:`goertzel_power` is the power at one frequency, the quantity the Goertzel
  algorithm computes; here as one vectorized single-bin DFT (a dot product) instead of the
  per-sample recurrence, with the same result and no Python loop.
* :func:`tone_snr_db` fits a sinusoid of a known frequency by least squares and compares
  it with what is left: a direct measure of how clean a tone came through a codec, a
  resampler or the mixer.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "detect_frequency",
    "goertzel_power",
    "has_tone",
    "level_dbfs",
    "rms",
    "sine",
    "tone_snr_db",
]

Int16Array = npt.NDArray[np.int16]
Samples = npt.NDArray[np.integer] | npt.NDArray[np.floating]


def sine(
    freq: float,
    duration: float,
    rate: int = 8000,
    *,
    amplitude: float = 0.5,
    phase: float = 0.0,
) -> Int16Array:
    """``duration`` seconds of a sine at ``freq`` Hz; ``amplitude`` is a fraction of full
    scale (0.5 is about -6 dBFS peak). ``phase`` in radians lets consecutive calls join."""
    n = round(duration * rate)
    t = np.arange(n, dtype=np.float64) / rate
    wave = amplitude * 32767.0 * np.sin(2 * np.pi * freq * t + phase)
    return np.rint(wave).clip(-32768, 32767).astype(np.int16)


def _as_float(samples: Samples) -> npt.NDArray[np.float64]:
    return np.asarray(samples, dtype=np.float64).reshape(-1)


def rms(samples: Samples) -> float:
    """Root mean square in sample units (0.0 for an empty array)."""
    x = _as_float(samples)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def level_dbfs(samples: Samples) -> float:
    """RMS level relative to a full-scale sine (a full-scale sine is 0 dBFS); -inf if silent."""
    value = rms(samples)
    return 20 * math.log10(value / (32767 / math.sqrt(2))) if value > 0 else -math.inf


def detect_frequency(samples: Samples, rate: int) -> float:
    """The dominant frequency in Hz (0.0 for silence or fewer than 4 samples)."""
    x = _as_float(samples)
    if x.size < 4:
        return 0.0
    x = x - x.mean()
    if not np.any(x):
        return 0.0
    n = max(1 << (x.size - 1).bit_length(), 8192)  # zero padding: finer bins to interpolate
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    k = int(np.argmax(spectrum[1:])) + 1
    if k >= spectrum.size - 1:
        return float(k * rate / n)
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    denominator = a - 2 * b + c
    delta = 0.5 * (a - c) / denominator if denominator < 0 else 0.0
    return float(min(max((k + delta) * rate / n, 0.0), rate / 2))


def goertzel_power(samples: Samples, rate: int, freq: float) -> float:
    """Mean-square power of the component at ``freq``: a sine of amplitude A gives about
    A**2 / 2 (exactly, over a whole number of periods), comparable with ``rms(x)**2``."""
    x = _as_float(samples)
    if x.size == 0:
        return 0.0
    n = np.arange(x.size, dtype=np.float64)
    bin_value = np.dot(x, np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(bin_value) ** 2 / x.size**2)


def tone_snr_db(samples: Samples, rate: int, freq: float) -> float:
    """Signal-to-noise ratio in dB of a tone at ``freq``: the least-squares sinusoid (plus
    DC) against the residual, which holds noise, distortion and every other frequency."""
    x = _as_float(samples)
    if x.size < 3:
        return -math.inf
    t = np.arange(x.size, dtype=np.float64) / rate
    basis = np.stack(
        (np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)), axis=1
    )
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    tone = basis[:, :2] @ coef[:2]
    residual = x - basis @ coef
    signal_power = float(np.mean(tone * tone))
    noise_power = float(np.mean(residual * residual))
    if signal_power == 0:
        return -math.inf
    if noise_power == 0:
        return math.inf
    return 10 * math.log10(signal_power / noise_power)


def has_tone(
    samples: Samples,
    rate: int,
    freq: float,
    *,
    tolerance_hz: float | None = None,
    min_dbfs: float = -40.0,
) -> bool:
    """Whether ``freq`` is the dominant tone, within ``tolerance_hz`` (default: 1% or at
    least two FFT bins of the signal's length), at ``min_dbfs`` or louder."""
    x = _as_float(samples)
    if x.size < 4 or level_dbfs(x) < min_dbfs:
        return False
    if tolerance_hz is None:
        tolerance_hz = max(0.01 * freq, 2 * rate / x.size)
    return abs(detect_frequency(x, rate) - freq) <= tolerance_hz
