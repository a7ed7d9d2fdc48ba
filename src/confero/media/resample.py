"""Integer-ratio resampling between a phone leg's rate and the 48 kHz mixer rate.

Why: the mixer runs at 48 kHz so that browser (Opus) legs stay wideband (house rule 5);
G.711 legs are 8 kHz and G.722/wideband legs 16 kHz, so every phone leg is upsampled on
the way in and downsampled on the way out, 50 frames a second per leg.

How: one linear-phase windowed-sinc low-pass (Kaiser window) per ratio, designed at the
high rate with its pass band ending at 0.425 x the low rate (3.4 kHz for 8 kHz, 6.8 kHz
for 16 kHz) and its stop band starting at the low rate's Nyquist frequency, with more than
60 dB of stop-band attenuation. It is applied in polyphase form so no multiplications are
spent on the inserted zeros (upsampling) or on the discarded outputs (downsampling); each
frame is a single numpy matrix product. A resampler object is stateful and belongs to one
stream: it keeps the filter's tail (the last input samples) so consecutive 20 ms frames
join without a click. The filters are computed once per ratio and shared (read-only).

Latency: the group delay is (taps - 1) / 2 samples at the high rate, about 3.4 ms for
8 <-> 48 kHz and 2.1 ms for 16 <-> 48 kHz in each direction.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIXER_RATE",
    "Downsampler",
    "Resampler",
    "Upsampler",
    "design_lowpass",
    "make_resampler",
]

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

#: The mixer's sample rate (house rule 5).
MIXER_RATE: Final = 48000

_STOPBAND_DB: Final = 70.0
_PASSBAND_EDGE: Final = 0.425  # fraction of the low rate


def design_lowpass(
    rate: int, passband_hz: float, stopband_hz: float, attenuation_db: float, multiple_of: int = 1
) -> Float64Array:
    """A Kaiser-windowed sinc low-pass (unit DC gain) for a sample ``rate``.

    The tap count follows Kaiser's estimate for the transition band and attenuation and is
    rounded up to a multiple of ``multiple_of`` (the polyphase factor).
    """
    if not 0 < passband_hz < stopband_hz <= rate / 2:
        raise ValueError("need 0 < passband < stopband <= rate/2")
    transition = 2 * math.pi * (stopband_hz - passband_hz) / rate
    taps = math.ceil((attenuation_db - 7.95) / (2.285 * transition)) + 1
    taps = -(-taps // multiple_of) * multiple_of
    if attenuation_db > 50:
        beta = 0.1102 * (attenuation_db - 8.7)
    elif attenuation_db >= 21:
        beta = 0.5842 * (attenuation_db - 21) ** 0.4 + 0.07886 * (attenuation_db - 21)
    else:
        beta = 0.0
    cutoff = (passband_hz + stopband_hz) / 2 / rate  # cycles per sample
    n = np.arange(taps, dtype=np.float64) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(taps, beta)
    result: Float64Array = h / h.sum()
    return result


@cache
def _filter(low_rate: int, factor: int) -> Float64Array:
    high_rate = low_rate * factor
    h = design_lowpass(
        high_rate, _PASSBAND_EDGE * low_rate, low_rate / 2, _STOPBAND_DB, multiple_of=factor
    )
    h.setflags(write=False)
    return h


#: numpy scalars: Python int bounds cost a conversion per call (issue 15)
_LOW, _HIGH = np.float32(-32768), np.float32(32767)


def _saturate(y: npt.NDArray[np.floating]) -> Int16Array:
    result: Int16Array = np.rint(y).clip(_LOW, _HIGH).astype(np.int16)
    return result


class _SlidingWindow:
    """The filter's input: ``history`` past samples followed by the current frame, in one
    preallocated float32 buffer, with a cached strided view of the filter windows (one row
    per output instant, oldest sample first). Rebuilt only when the frame length changes.
    """

    __slots__ = ("_buf", "_frame", "_history", "_step", "_view", "_width")

    def __init__(self, width: int, step: int) -> None:
        self._width = width  # filter taps seen by one output
        self._step = step  # input samples between output rows
        self._history = width - 1
        self._frame = -1
        self._buf: Float32Array = np.zeros(self._history, np.float32)
        self._view: Float32Array = self._buf[:0].reshape(0, 1)

    def _rebuild(self, frame: int) -> None:
        buf = np.zeros(self._history + frame, np.float32)
        buf[: self._history] = self._buf[: self._history]
        rows = frame // self._step
        self._buf = buf
        self._view = np.ndarray((rows, self._width), np.float32, buf, 0, (self._step * 4, 4))
        self._frame = frame

    def prepare(self, samples: npt.NDArray[np.int16]) -> Float32Array:
        if samples.size != self._frame:
            self._rebuild(samples.size)
        self._buf[self._history :] = samples
        return self._view

    def advance(self) -> None:
        """Keep the last ``width - 1`` samples as the next frame's history."""
        h = self._history
        if h:
            self._buf[:h] = self._buf[self._buf.size - h :]

    def reset(self) -> None:
        self._buf[:] = 0


class Upsampler:
    """Raise the rate by an integer ``factor`` (8 -> 48 kHz: 6, 16 -> 48 kHz: 3).

    ``process`` takes any number of int16 input samples and returns ``factor`` times as many.
    """

    __slots__ = ("_phases", "_taps_per_phase", "_window", "factor", "in_rate", "out_rate")

    def __init__(self, in_rate: int, factor: int) -> None:
        if factor < 1 or in_rate <= 0:
            raise ValueError("factor and rate must be positive")
        self.in_rate = in_rate
        self.out_rate = in_rate * factor
        self.factor = factor
        if factor == 1:
            self._taps_per_phase = 1
            self._phases: Float32Array = np.ones((1, 1), np.float32)
        else:
            h = _filter(in_rate, factor) * factor  # restore the gain lost to zero stuffing
            k = h.size // factor
            # y[n*L + p] = sum_j h[j*L + p] * x[n - j]; rows ordered oldest input first.
            self._phases = np.ascontiguousarray(h.reshape(k, factor)[::-1], dtype=np.float32)
            self._taps_per_phase = k
        self._window = _SlidingWindow(self._taps_per_phase, 1)

    @property
    def delay(self) -> float:
        """Group delay in output samples."""
        return (self._taps_per_phase * self.factor - 1) / 2 if self.factor > 1 else 0.0

    def reset(self) -> None:
        """Forget the stream's past (a new talk spurt after a source change, say)."""
        self._window.reset()

    def process(self, samples: npt.NDArray[np.int16]) -> Int16Array:
        if self.factor == 1:
            return np.array(samples, dtype=np.int16)
        view = self._window.prepare(samples)
        y = np.dot(view, self._phases)  # (n, factor)
        self._window.advance()
        return _saturate(y.reshape(-1))


class Downsampler:
    """Lower the rate by an integer ``factor`` (48 -> 8 kHz: 6, 48 -> 16 kHz: 3).

    ``process`` takes a multiple of ``factor`` int16 input samples (a 20 ms frame always is)
    and returns ``len / factor`` samples; the anti-alias filter runs only at output instants.
    """

    __slots__ = ("_kernel", "_taps", "_window", "factor", "in_rate", "out_rate")

    def __init__(self, out_rate: int, factor: int) -> None:
        if factor < 1 or out_rate <= 0:
            raise ValueError("factor and rate must be positive")
        self.out_rate = out_rate
        self.in_rate = out_rate * factor
        self.factor = factor
        h = _filter(out_rate, factor) if factor > 1 else np.ones(1)
        self._taps = h.size
        # y[m] = sum_j h[j] * x[m*M - j]; the kernel is reversed to meet windows oldest first.
        self._kernel: Float32Array = np.ascontiguousarray(h[::-1], dtype=np.float32)
        self._window = _SlidingWindow(self._taps, factor)

    @property
    def delay(self) -> float:
        """Group delay in input samples."""
        return (self._taps - 1) / 2

    def reset(self) -> None:
        self._window.reset()

    def process(self, samples: npt.NDArray[np.int16]) -> Int16Array:
        if self.factor == 1:
            return np.array(samples, dtype=np.int16)
        if samples.size % self.factor:
            raise ValueError(f"frame of {samples.size} samples is not a multiple of {self.factor}")
        view = self._window.prepare(samples)
        y = np.dot(view, self._kernel)
        self._window.advance()
        return _saturate(y)


class Resampler:
    """One stream's rate conversion ``from_rate`` -> ``to_rate`` (integer ratio either way).

    Use one per leg and direction; ``process`` keeps the filter tail between frames.
    """

    __slots__ = ("_impl", "from_rate", "to_rate")

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError("rates must be positive")
        self._impl: Upsampler | Downsampler
        if to_rate >= from_rate and to_rate % from_rate == 0:
            self._impl = Upsampler(from_rate, to_rate // from_rate)
        elif to_rate < from_rate and from_rate % to_rate == 0:
            self._impl = Downsampler(to_rate, from_rate // to_rate)
        else:
            raise ValueError(f"unsupported ratio {from_rate} -> {to_rate}: not an integer ratio")

    @property
    def delay_seconds(self) -> float:
        """Group delay this stage adds, in seconds."""
        rate = self.to_rate if isinstance(self._impl, Upsampler) else self.from_rate
        return self._impl.delay / rate

    def output_size(self, input_size: int) -> int:
        """How many samples ``process`` returns for ``input_size`` input samples."""
        return input_size * self.to_rate // self.from_rate

    def reset(self) -> None:
        self._impl.reset()

    def process(self, samples: npt.NDArray[np.int16]) -> Int16Array:
        """Convert one frame; int16 in, int16 out (saturated)."""
        return self._impl.process(samples)


def make_resampler(from_rate: int, to_rate: int = MIXER_RATE) -> Resampler:
    """A resampler for one leg: e.g. ``make_resampler(8000)`` to the mixer, or back with
    ``make_resampler(MIXER_RATE, 8000)``."""
    return Resampler(from_rate, to_rate)
