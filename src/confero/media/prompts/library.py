"""Loads the recorded prompts and renders what the IVR says as 48 kHz int16 audio.

Why this shape: clips are stored the way a phone hears them (8 kHz G.711 µ-law, see
``scripts/gen_prompts.py``) but the mixer runs at 48 kHz (house rule 5), so each clip is
decoded and upsampled once, on first use, and cached read-only; a conference replays the
same few prompts all day. The beep and the lobby's hold music are synthesized here: they
are not speech, and code is smaller than a recording and exactly what the tests expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from confero.media.g711 import decode_ulaw
from confero.media.prompts.catalog import TEXTS
from confero.media.prompts.speech import Speech, words
from confero.media.resample import MIXER_RATE, Upsampler

__all__ = ["BEEP", "CLIP_RATE", "ITEM_GAP", "WORD_GAP", "PromptLibrary", "duration"]

Int16Array = npt.NDArray[np.int16]

#: The id that plays the synthesized tone (after "say your name").
BEEP: Final = "beep"
#: Sample rate of the stored clips.
CLIP_RATE: Final = 8000
#: Silence between the items of one ``render`` call, in seconds.
ITEM_GAP: Final = 0.15
#: Silence between the words of one count or time ("twenty-one" "participants").
WORD_GAP: Final = 0.05
FALLBACK_LANGUAGE: Final = "en"

_BEEP_HZ: Final = 1000.0
_BEEP_SECONDS: Final = 0.3
_BEEP_DBFS: Final = -12.0
_RAMP_SECONDS: Final = 0.005


def duration(samples: npt.NDArray[np.generic], rate: int = MIXER_RATE) -> float:
    """Seconds of audio in ``samples`` (at the mixer rate unless told)."""
    return len(samples) / rate


def _silence(seconds: float) -> Int16Array:
    return np.zeros(round(seconds * MIXER_RATE), np.int16)


def _frozen(samples: Int16Array) -> Int16Array:
    samples.setflags(write=False)
    return samples


def _upsample(samples: Int16Array) -> Int16Array:
    """8 kHz -> 48 kHz with the mixer's filter, delay removed and tail flushed, so the
    result is exactly six times as long and lines up with the input."""
    up = Upsampler(CLIP_RATE, MIXER_RATE // CLIP_RATE)
    delay = round(up.delay)
    pad = np.zeros(-(-delay // up.factor) + 1, np.int16)
    out = up.process(np.concatenate([samples, pad]))
    return out[delay : delay + samples.size * up.factor]


def _synth_beep() -> Int16Array:
    n = round(_BEEP_SECONDS * MIXER_RATE)
    t = np.arange(n) / MIXER_RATE
    wave = 10 ** (_BEEP_DBFS / 20) * 32767 * np.sin(2 * np.pi * _BEEP_HZ * t)
    ramp = round(_RAMP_SECONDS * MIXER_RATE)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)  # raised cosine: no click
    wave[:ramp] *= edge
    wave[n - ramp :] *= edge[::-1]
    return np.rint(wave).astype(np.int16)


# C major, A minor, F major (inverted), G major (inverted) as MIDI notes, kept between
# 220 and 600 Hz so they survive the 300-3400 Hz telephone band.
_CHORDS: Final = ((60, 64, 67, 72), (57, 60, 64, 69), (60, 65, 69, 72), (59, 62, 67, 71))
_PATTERN: Final = (0, 1, 2, 3, 2, 1, 0, 1)  # up and down the chord, 8 notes per chord
_NOTE_SECONDS: Final = 0.25
_RING_SECONDS: Final = 1.2
_MUSIC_PEAK: Final = 0.2  # about -14 dBFS: background, not a fanfare


def _synth_hold_music() -> Int16Array:
    """A soft arpeggio of decaying sine notes, 8 s long; notes still ringing at the end
    wrap to the start, so playing it in a loop has no seam."""
    note = round(_NOTE_SECONDS * MIXER_RATE)
    total = note * len(_PATTERN) * len(_CHORDS)
    t = np.arange(round(_RING_SECONDS * MIXER_RATE)) / MIXER_RATE
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t / 0.35)
    music = np.zeros(total)
    start = 0
    for chord in _CHORDS:
        for step in _PATTERN:
            freq = 440.0 * 2 ** ((chord[step] - 69) / 12)
            phase = 2 * np.pi * freq * t
            tone = np.sin(phase) + 0.25 * np.sin(2 * phase)  # a little warmth
            music[(start + np.arange(t.size)) % total] += envelope * tone
            start += note
    music *= _MUSIC_PEAK * 32767 / np.abs(music).max()
    return np.rint(music).astype(np.int16)


class PromptLibrary:
    """The clips of one prompt directory, loaded lazily and cached at 48 kHz.

    ``root`` holds ``<lang>/<id>.ul``; by default the clips shipped in this package.
    """

    def __init__(self, root: Path | Traversable | None = None) -> None:
        self._root: Path | Traversable = root if root is not None else files(__package__) / "audio"
        self._cache: dict[tuple[str, str], Int16Array] = {}

    def clip(self, prompt_id: str, language: str) -> Int16Array:
        """One prompt at 48 kHz (read-only); English if ``language`` has no such clip.

        Raises ``KeyError`` for an id that is not in the catalog.
        """
        if prompt_id == BEEP:
            return self.beep()
        if prompt_id not in TEXTS:
            raise KeyError(prompt_id)
        for lang in (language, FALLBACK_LANGUAGE):
            cached = self._cache.get((prompt_id, lang))
            if cached is not None:
                return cached
            source = self._root / lang / f"{prompt_id}.ul"
            if source.is_file():
                samples = _frozen(_upsample(decode_ulaw(source.read_bytes())))
                self._cache[prompt_id, lang] = samples
                return samples
        raise FileNotFoundError(
            f"no clip for prompt {prompt_id!r} in {self._root}; run scripts/gen_prompts.py"
        )

    def render(self, items: Sequence[Speech], language: str) -> Int16Array:
        """Everything ``items`` say, in order, as one 48 kHz signal: ``ITEM_GAP`` of
        silence between items, ``WORD_GAP`` between the words of a count or a time."""
        parts: list[Int16Array] = []
        item_gap, word_gap = _silence(ITEM_GAP), _silence(WORD_GAP)
        for i, item in enumerate(items):
            if i:
                parts.append(item_gap)
            for j, prompt_id in enumerate(words(item, language)):
                if j:
                    parts.append(word_gap)
                parts.append(self.clip(prompt_id, language))
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def beep(self) -> Int16Array:
        """The tone before recording a name: 1 kHz, 300 ms, -12 dBFS, soft edges."""
        return self._beep

    def hold_music(self) -> Int16Array:
        """About 8 s of quiet, seamlessly loopable music for callers waiting in the lobby."""
        return self._hold_music

    @staticmethod
    def duration(samples: npt.NDArray[np.generic]) -> float:
        """Seconds of 48 kHz audio in ``samples``."""
        return duration(samples)

    @cached_property
    def _beep(self) -> Int16Array:
        return _frozen(_synth_beep())

    @cached_property
    def _hold_music(self) -> Int16Array:
        return _frozen(_synth_hold_music())
