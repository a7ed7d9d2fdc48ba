"""Why a media tick was late (issue 14's bound: never late by more than 20 ms).

A late tick says nothing of its cause, and the cures differ: a tick whose thread
*waited for a core* wants a priority or a core of its own (``CONFERO_MEDIA_REALTIME``,
``taskset``); one whose thread *ran its own work* all along (the previous tick, RTP and
channel callbacks) wants less work or another worker; one that did neither lost the
time outside the process's reach: to a hypervisor that ran another guest (steal) or to
interrupts. The kernel counts the first two per thread in ``/proc/thread-self/schedstat``
(time on a core, time waiting on a run queue), so each tick reads them (one ``pread``,
about 2 µs) and a late tick is put down to the largest share. A tick that follows a late
one without sleeping (the clock catching up) inherits its cause: the time it lost was
lost before it. Where the file is missing (no ``CONFIG_SCHED_INFO``) every late tick is
"other".
"""

from __future__ import annotations

import os
from enum import Enum


class Cause(Enum):
    WAITED = "waited for a core"
    OWN_WORK = "own work"
    OTHER = "neither (steal, interrupts)"


class Lateness:
    """Opened on the thread that ticks (``/proc/thread-self`` names the opener)."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None
        self._ran, self._waited = self._read()
        self._last: Cause | None = None

    def _read(self) -> tuple[int, int]:
        if self._fd is None:
            return 0, 0
        ran, waited, _ = os.pread(self._fd, 96, 0).split()
        return int(ran), int(waited)

    def mark(self) -> tuple[float, float]:
        """Since the last mark: (seconds on a core, seconds waiting for one)."""
        ran, waited = self._read()
        spent = ((ran - self._ran) / 1e9, (waited - self._waited) / 1e9)
        self._ran, self._waited = ran, waited
        return spent

    def cause(self, late: float, ran: float, waited: float, *, slept: bool) -> Cause:
        """The cause of a late tick; ``slept``: whether the loop slept before it."""
        if slept or self._last is None:
            self._last = self.explain(late, ran, waited)
        return self._last

    def on_time(self) -> None:
        self._last = None

    @staticmethod
    def explain(late: float, ran: float, waited: float) -> Cause:
        """A tick ``late``, and what its thread did since the previous tick began: the
        largest of the time it waited, the time it ran, and the lateness neither covers
        (after its due time the thread does not sleep, so that time went elsewhere)."""
        shares = {
            Cause.WAITED: waited,
            Cause.OWN_WORK: ran,
            Cause.OTHER: late - ran - waited,
        }
        return max(shares, key=lambda cause: shares[cause])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
