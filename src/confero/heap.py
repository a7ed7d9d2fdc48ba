"""Keep the cycle collector's passes off the media tick (issue 14).

CPython's cycle collector stops the process while it walks every tracked object of the
generations it collects, and the media tick waits with everything else. A node with 200
calls holds some 100,000 such objects (SIP transactions, legs, tasks, sessions): on the
soak's machine a full pass over them took 80-105 ms, every 15-45 s, so each one made
four or five ticks late by more than 20 ms (a gap everybody in every room hears).

So the keeper moves what lives into the permanent generation (``gc.freeze``): once at
start-up (``settle_heap``), then every ``every`` seconds, after a collection of the
youngest generation. The collector's passes then see only what was made since, a
few milliseconds' worth. Frozen objects are still freed by reference counting the moment
nothing holds them; what the collector can no longer find among them is reference cycles
that became garbage after they were frozen. Calls and sessions break their own cycles
when they end (tests/phone/test_call.py), and for what else there may be the keeper takes
the whole heap back (``gc.unfreeze`` and a full collection) when nobody would hear the
pause (no media leg in the node), or, as a bound on memory, when the frozen heap has
grown to ``GROWTH`` times what the last full collection left.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: A full collection is forced once the frozen heap is this many times what the last
#: one left alive (the bound on what unbroken cycles can hold).
GROWTH = 3.0
#: ...and never for fewer objects than this more (a small heap grows fast in relative
#: terms: its first calls would otherwise force collections).
MIN_GROWTH = 200_000
#: An idle node reclaims once the frozen heap is this many times the last full count.
IDLE_GROWTH = 1.1


def settle_heap() -> None:
    """Everything built at start-up lives as long as the process: collect once, then
    move it out of the collector's reach."""
    gc.collect()
    gc.freeze()


@dataclass
class HeapStats:
    freezes: int = 0
    #: Full collections (idle or forced), and the longest one in seconds.
    full: int = 0
    forced: int = 0
    longest_full: float = 0.0
    #: The frozen heap's size after the last full collection.
    baseline: int = 0


class HeapKeeper:
    """Freeze the survivors every ``every`` seconds; take the heap back when idle."""

    def __init__(self, every: float, *, idle: Callable[[], bool]) -> None:
        assert every > 0, "every > 0 (a keeper that never freezes is no keeper)"
        self.every = every
        self._idle = idle
        self.stats = HeapStats(baseline=gc.get_freeze_count())
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="heap-keeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.step()

    def step(self) -> None:
        """One round: reclaim if it is time, else freeze what survived."""
        frozen = gc.get_freeze_count()
        base = max(self.stats.baseline, 1)
        if frozen > base * IDLE_GROWTH and self._idle():
            self.reclaim(forced=False)
        elif frozen > max(base * GROWTH, base + MIN_GROWTH):
            self.reclaim(forced=True)
        else:
            # Only the youngest generation first (a few hundred objects): a pass over all
            # that is not frozen yet (5 s of survivors, 10-20 ms at 200 calls) showed up
            # itself in the stalls of the soak. Young cycles that escape it are frozen and
            # wait for the next full collection below.
            gc.collect(0)
            gc.freeze()
            self.stats.freezes += 1

    def reclaim(self, *, forced: bool) -> None:
        """Everything back to the collector, one full pass, and frozen again."""
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        took = time.perf_counter() - started
        self.stats.full += 1
        self.stats.forced += forced
        self.stats.longest_full = max(self.stats.longest_full, took)
        self.stats.baseline = gc.get_freeze_count()
        level = logging.WARNING if forced else logging.INFO
        log.log(
            level,
            "heap: full collection%s took %.0f ms, %d unreachable, %d objects live",
            " (forced: the frozen heap grew)" if forced else " (idle)",
            took * 1000,
            found,
            self.stats.baseline,
        )
