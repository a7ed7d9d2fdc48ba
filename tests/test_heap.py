"""The heap keeper (confero/heap.py): survivors leave the collector's reach, full
collections only when nobody would hear them or when the frozen heap grew too much."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from confero.heap import HeapKeeper, resident_bytes

MB = 1024 * 1024


class Knot:
    """Two objects that hold each other: garbage only the cycle collector frees."""

    def __init__(self) -> None:
        self.other = Other(self)
        self.payload = [[] for _ in range(200)]  # 200 tracked objects


class Other:
    def __init__(self, knot: Knot) -> None:
        self.knot = knot


@pytest.fixture
def fresh_heap() -> Iterator[None]:
    gc.collect()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    gc.collect()


def _young() -> int:
    return sum(gc.get_count())


def test_survivors_are_frozen_so_a_full_collection_walks_only_what_is_new(
    fresh_heap: None,
) -> None:
    keeper = HeapKeeper(5.0, idle=lambda: False)
    living = [[object()] for _ in range(200_000)]  # the calls of a busy node
    started = time.perf_counter()
    gc.collect()
    before = time.perf_counter() - started
    keeper.step()
    assert gc.get_freeze_count() >= len(living)
    started = time.perf_counter()
    gc.collect()
    after = time.perf_counter() - started
    assert after < before / 5, (
        f"a full pass took {after * 1000:.1f} ms after, {before * 1000:.1f} before"
    )
    assert keeper.stats.freezes == 1 and keeper.stats.full == 0


def test_a_round_that_takes_nothing_back_never_walks_the_frozen_heap(
    fresh_heap: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gc.get_freeze_count`` walks every frozen object with the GIL held (15-25 ms for a
    million): asked every round, it made a late media tick every five seconds."""

    def walk() -> int:
        raise AssertionError("a freeze round walked the frozen heap")

    keeper = HeapKeeper(5.0, idle=lambda: False)
    monkeypatch.setattr(gc, "get_freeze_count", walk)
    for _ in range(3):
        keeper.step()
    assert keeper.stats.freezes == 3 and keeper.stats.full == 0


def test_resident_memory_is_read_and_follows_what_the_process_holds() -> None:
    before = resident_bytes()
    block = bytearray(b"\x01") * (64 * 1024 * 1024)  # written, so resident
    assert resident_bytes() > before + 48 * 1024 * 1024
    del block


def test_an_idle_node_takes_back_the_cycles_frozen_while_it_was_busy(
    fresh_heap: None,
) -> None:
    busy = True
    keeper = HeapKeeper(5.0, idle=lambda: not busy, idle_rounds=2)
    knots = [Knot() for _ in range(1000)]  # 200,000 objects in cycles
    keeper.step()  # frozen while alive (calls in progress)
    del knots  # the calls ended, their cycles unbroken
    frozen = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() == frozen, "the collector cannot see frozen garbage"
    keeper.step()  # still busy: no full collection
    assert keeper.stats.full == 0
    busy = False
    keeper.step()
    assert keeper.stats.full == 1 and keeper.stats.forced == 0
    assert gc.get_freeze_count() < frozen - 150_000, "the knots were freed"
    keeper.step()  # idle again at once: nothing frozen since, no second pause
    assert keeper.stats.full == 1


def test_a_node_that_is_never_idle_still_frees_its_cycles_when_the_process_has_grown(
    fresh_heap: None,
) -> None:
    held = [100 * MB]
    keeper = HeapKeeper(5.0, idle=lambda: False, min_growth=50 * MB, resident=lambda: held[0])
    knots = [Knot() for _ in range(1000)]
    keeper.step()  # frozen alive
    del knots  # all garbage now, in cycles, frozen
    frozen = gc.get_freeze_count()
    held[0] = 250 * MB  # less than 3x: no pause yet
    keeper.step()
    assert keeper.stats.full == 0
    held[0] = 301 * MB  # past 3x what it held after the last full collection
    keeper.step()
    assert keeper.stats.forced == 1
    assert gc.get_freeze_count() < frozen - 150_000, "the cycles were collected"
    assert keeper.stats.baseline == 301 * MB
