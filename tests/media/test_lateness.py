"""A late media tick is put down to its likeliest cause from the kernel's own
per-thread counts (``lateness.py``): real busy work, a real wait for a core shared with
a busy process, and time that is neither (here: a blocking sleep inside the tick)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from confero.media.engine import MediaEngine
from confero.media.g711 import PCMU
from confero.media.lateness import Cause, Lateness
from confero.media.tone import sine
from tests.phone.support import eventually


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.fixture
def one_core() -> Iterator[int]:
    """This thread on one core (restored after)."""
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)


def test_the_kernel_counts_work_and_waits_apart(one_core: int) -> None:
    """Spinning, the thread is on its core or waiting for it (the machine may be busy,
    as it is in CI); asleep, it is neither; beside a process that spins on the same
    core, it waits for about half the time."""
    lateness = Lateness()
    try:
        lateness.mark()
        _spin(0.05)
        ran, waited = lateness.mark()
        assert ran > 0.005 and ran + waited > 0.045, f"spinning ({ran=:.3f} {waited=:.3f})"
        time.sleep(0.1)
        ran, waited = lateness.mark()
        assert ran + waited < 0.05, f"asleep: neither, mostly ({ran=:.3f} {waited=:.3f})"
        rival = subprocess.Popen(
            ["taskset", "-c", str(one_core), sys.executable, "-c", "while True: pass"]
        )
        try:
            time.sleep(0.3)  # the rival spins on the core
            lateness.mark()
            _spin(0.2)  # 200 ms of wall time, shared with the rival
            ran, waited = lateness.mark()
        finally:
            rival.kill()
            rival.wait()
        assert waited > 0.05, f"sharing the core, it waited ({ran=:.3f} {waited=:.3f})"
    finally:
        lateness.close()


@pytest.mark.parametrize(
    ("late", "ran", "waited", "cause"),
    [
        (0.025, 0.005, 0.030, Cause.WAITED),  # preempted by another process
        (0.025, 0.045, 0.000, Cause.OWN_WORK),  # a long tick or a long callback
        (0.025, 0.005, 0.000, Cause.OTHER),  # the time went to no one we can see
    ],
)
def test_a_late_tick_is_put_down_to_the_largest_share(
    late: float, ran: float, waited: float, cause: Cause
) -> None:
    assert Lateness.explain(late, ran, waited) is cause


class _Leg:
    """A leg without a network whose pull does ``stall`` for 80 ms once, on its 5th
    tick: the next tick is 60 ms late, the one after it (catching up) 40 ms."""

    codec = PCMU

    def __init__(self, stall: Callable[[float], None]) -> None:
        self.id = "leg"
        self._stall = stall
        self.pulls = 0

    def pull(self, now: float | None = None) -> np.ndarray:
        self.pulls += 1
        if self.pulls == 5:
            self._stall(0.08)
        return sine(440, 0.02, 48000)

    def send_frame(self, frame: np.ndarray) -> None:
        pass

    def send_encoded(self, payload: bytes) -> None:
        pass


@pytest.mark.parametrize(
    ("stall", "counter"), [(_spin, "late_own_work"), (time.sleep, "late_other")]
)
async def test_the_engine_counts_its_late_ticks_by_cause(
    stall: Callable[[float], None], counter: str
) -> None:
    engine = MediaEngine()
    leg = _Leg(stall)
    engine.add_leg("room", leg)
    engine.start()
    try:
        await eventually(lambda: leg.pulls >= 8, 5)
    finally:
        await engine.stop()
    stats = engine.stats
    assert stats.late_20ms >= 2, "an 80 ms stall makes the next two ticks late"
    causes = {
        "late_waited": stats.late_waited,
        "late_own_work": stats.late_own_work,
        "late_other": stats.late_other,
    }
    assert causes[counter] == stats.late_20ms, f"the stall and the ticks catching up: {causes}"
