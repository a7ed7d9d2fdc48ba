"""Reading back a recording (issue 12): an Ogg/Opus file decoded by PyAV, as 48 kHz mono."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from confero.media import tone

RATE = 48_000


def decode(path: Path) -> np.ndarray:
    """The file's audio as int16 samples; fails unless it is Ogg with an Opus stream."""
    with av.open(str(path)) as container:
        assert container.format.name == "ogg", container.format.name
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
    pcm = np.concatenate(chunks) if chunks else np.zeros(0)
    if pcm.dtype.kind == "f":
        pcm = (pcm * 32767).astype(np.int16)
    return pcm.astype(np.int16)


def longest_tone(pcm: np.ndarray, freq: float, *, window: float = 0.5) -> float:
    """Seconds of the longest run of ``window``-long pieces in which ``freq`` dominates."""
    size = int(RATE * window)
    best = run = 0
    for start in range(0, pcm.size - size + 1, size):
        if tone.tone_snr_db(pcm[start : start + size], RATE, freq) > 6:
            run += 1
            best = max(best, run)
        else:
            run = 0
    return best * window


def tone_prominence_db(pcm: np.ndarray, freq: float, rate: int = RATE) -> float:
    """How far (dB) the spectrum's peak within 4 Hz of ``freq`` stands above its median:
    a tone among other tones (a mix of several voices) stands out by 30 dB or more."""
    x = pcm.astype(np.float64) * np.hanning(pcm.size)
    spectrum = np.abs(np.fft.rfft(x)) + 1e-9
    bins = np.fft.rfftfreq(pcm.size, 1 / rate)
    near = spectrum[np.abs(bins - freq) <= 4]
    return float(20 * np.log10(near.max() / np.median(spectrum)))


def residual_rms(pcm: np.ndarray, freqs: tuple[float, ...], rate: int) -> float:
    """The level of what is left after the tones ``freqs`` (least squares, with DC) are
    taken out: speech over a room of steady tones."""
    x = pcm.astype(np.float64)
    t = np.arange(x.size) / rate
    cols = [np.ones_like(t)]
    for f in freqs:
        cols += [np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)]
    basis = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    rest = x - basis @ coef
    return float(np.sqrt(np.mean(rest * rest)))
