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
pause (no media leg in the node), or, as a bound on memory, when the process has
grown to ``GROWTH`` times what it held after the last full collection.

Why resident memory and not ``gc.get_freeze_count()`` for that bound: the count walks
the whole frozen list (15-25 ms for a million objects, with the GIL held), so asking it
every round made a late tick of its own every five seconds, the largest share of the
soak's ticks late by more than 20 ms (found by sampling the loop's stalls). Reading
``/proc/self/statm`` takes microseconds, and memory is what the bound is for.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: A full collection is forced once the process holds this many times the memory it
#: held after the last one (the bound on what unbroken cycles can hold).
GROWTH = 3.0
#: ...and never for less growth than this (a small process grows fast in relative
#: terms: its first calls would otherwise force collections).
MIN_GROWTH = 256 * 1024 * 1024
#: An idle node takes the heap back after this many freezes since the last time (a
#: minute at the default 5 s): often enough to free forgotten cycles, rarely enough
#: that a node serving only pages and chat does not pause every round.
IDLE_ROUNDS = 12
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """The process's resident memory, cheaply (Linux); 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


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
    #: Resident bytes after the last full collection (or at start).
    baseline: int = 0
    #: Freezes since the last full collection: an idle node with none has nothing new.
    since_full: int = 0


class HeapKeeper:
    """Freeze the survivors every ``every`` seconds; take the heap back when idle."""

    def __init__(
        self,
        every: float,
        *,
        idle: Callable[[], bool],
        min_growth: int = MIN_GROWTH,
        idle_rounds: int = IDLE_ROUNDS,
        resident: Callable[[], int] = resident_bytes,
    ) -> None:
        assert every > 0, "every > 0 (a keeper that never freezes is no keeper)"
        self.every = every
        self._idle = idle
        self._min_growth = min_growth
        self._idle_rounds = max(1, idle_rounds)
        self._resident = resident
        self.stats = HeapStats(baseline=resident())
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
        held = self._resident()
        base = max(self.stats.baseline, 1)
        if self.stats.since_full >= self._idle_rounds and self._idle():
            self.reclaim(forced=False)
        elif held > max(base * GROWTH, base + self._min_growth):
            self.reclaim(forced=True)
        else:
            # Only the youngest generation first (a few hundred objects): a pass over all
            # that is not frozen yet (5 s of survivors, 10-20 ms at 200 calls) showed up
            # itself in the stalls of the soak. Young cycles that escape it are frozen and
            # wait for the next full collection below.
            gc.collect(0)
            gc.freeze()
            self.stats.freezes += 1
            self.stats.since_full += 1

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
        self.stats.baseline = self._resident()
        self.stats.since_full = 0
        live = gc.get_freeze_count()  # walks the heap: only here, in a pause already
        level = logging.WARNING if forced else logging.INFO
        log.log(
            level,
            "heap: full collection%s took %.0f ms, %d unreachable, %d objects live",
            " (forced: the process grew)" if forced else " (idle)",
            took * 1000,
            found,
            live,
        )
