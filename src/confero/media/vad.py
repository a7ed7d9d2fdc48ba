"""Is this leg speaking? An energy gate with hang-over, as conference bridges do
(Asterisk's ConfBridge has its talk detector for the same reasons).

Phones and browsers send audio all the time, mostly near-silence. Counting that as
speech would keep every leg out of the shared full mix (each would get its own
mix-minus, encoded for it alone), add everyone's line noise to the mix, and light every
talking indicator. Frames below ``threshold_dbfs`` count as silence once the last loud
frame is ``hangover`` frames old, so the ends of words are not clipped.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

THRESHOLD_DBFS = -50.0
HANGOVER = 15  # frames: 300 ms at 20 ms per frame


def threshold_level(threshold_dbfs: float = THRESHOLD_DBFS) -> float:
    """The gate's threshold as a linear sample value: a frame none of whose samples
    reaches it is quiet without being measured (its RMS cannot be higher)."""
    return float(32768.0 * 10 ** (threshold_dbfs / 20))


class SpeechGate:
    def __init__(self, threshold_dbfs: float = THRESHOLD_DBFS, hangover: int = HANGOVER) -> None:
        level = threshold_level(threshold_dbfs)
        self._threshold_sq = level * level
        self._hangover = hangover
        self._quiet_for = hangover + 1

    def __call__(self, samples: npt.NDArray[np.int16]) -> bool:
        """True while the leg speaks (or just spoke); feed every frame, in order."""
        if samples.size:
            x = samples.astype(np.float32)
            loud = float(np.dot(x, x)) / samples.size >= self._threshold_sq
        else:
            loud = False
        self._quiet_for = 0 if loud else self._quiet_for + 1
        return self._quiet_for <= self._hangover

    def quiet(self) -> bool:
        """As ``self(frame)`` for a frame known to be below the threshold."""
        self._quiet_for += 1
        return self._quiet_for <= self._hangover
