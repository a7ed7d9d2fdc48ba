"""Media workers ask the kernel for what they are given (``priority.py``): a lower
``nice`` needs no privilege; ``SCHED_RR`` needs CAP_SYS_NICE (root here and in CI), and
where it is refused the worker still mixes, at the node's priority."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator

import pytest

from confero.media.tone import detect_frequency
from confero.media.workers.pool import NodeMedia
from confero.media.workers.priority import Priority
from tests.media.test_engine import phone, tail, talk
from tests.media.workers.test_pool import enter


@pytest.fixture
async def started() -> AsyncIterator[list[NodeMedia]]:
    made: list[NodeMedia] = []
    yield made
    for media in made:
        await media.stop()


async def _start(made: list[NodeMedia], priority: Priority) -> tuple[NodeMedia, int]:
    media = NodeMedia(1, priority)
    made.append(media)
    media.start()
    await media.wait_ready()
    return media, media.workers[0].process.pid


async def test_a_worker_runs_the_nice_steps_it_is_given(started: list[NodeMedia]) -> None:
    _, pid = await _start(started, Priority(nice=3))
    assert _nice(pid) == _nice(os.getpid()) + 3
    assert os.sched_getscheduler(pid) == os.SCHED_OTHER


async def test_a_real_time_worker_runs_round_robin_and_still_mixes(
    started: list[NodeMedia],
) -> None:
    media, pid = await _start(started, Priority(realtime=7))
    if _may_run_real_time():
        assert os.sched_getscheduler(pid) == os.SCHED_RR
        assert os.sched_getparam(pid).sched_priority == 7
    else:  # refused: logged, and the worker runs as the node does
        assert os.sched_getscheduler(pid) == os.SCHED_OTHER
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    await enter(media, "room", "b", b, [])
    await talk(a, leg_a, 440, 1.2, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b), 8000) - 440) < 10, "b hears a through the worker"


def test_priorities_outside_the_kernels_ranges_are_refused() -> None:
    with pytest.raises(AssertionError):
        Priority(realtime=100)
    with pytest.raises(AssertionError):
        Priority(nice=-21)
    assert Priority.parse(Priority(-5, 9).argv()) == Priority(-5, 9)
    assert Priority.parse([]) == Priority(), "an old node's argv: no priority asked"


def _may_run_real_time() -> bool:
    probe = subprocess.Popen(["sleep", "5"])
    try:
        os.sched_setscheduler(probe.pid, os.SCHED_RR, os.sched_param(1))
        return True
    except PermissionError:
        return False
    finally:
        probe.kill()
        probe.wait()


def _nice(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])
