"""The heap keeper (confero/heap.py): survivors leave the collector's reach, full
collections only when nobody would hear them or when the frozen heap grew too much."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from confero.heap import MIN_GROWTH, HeapKeeper


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
    assert gc.get_freeze_count() >= keeper.stats.baseline + len(living)
    started = time.perf_counter()
    gc.collect()
    after = time.perf_counter() - started
    assert after < before / 5, (
        f"a full pass took {after * 1000:.1f} ms after, {before * 1000:.1f} before"
    )
    assert keeper.stats.freezes == 1 and keeper.stats.full == 0


def test_an_idle_node_takes_back_the_cycles_frozen_while_it_was_busy(
    fresh_heap: None,
) -> None:
    busy = True
    keeper = HeapKeeper(5.0, idle=lambda: not busy)
    knots = [Knot() for _ in range(keeper.stats.baseline // 1000 + 10)]  # 20% more
    keeper.step()  # frozen while alive (calls in progress)
    del knots  # the calls ended, their cycles unbroken
    frozen = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() == frozen, "the collector cannot see frozen garbage"
    keeper.step()  # still busy: no full collection, the heap has not grown enough
    assert keeper.stats.full == 0
    busy = False
    keeper.step()
    assert keeper.stats.full == 1 and keeper.stats.forced == 0
    assert gc.get_freeze_count() < frozen - 100_000 // 1000 * 200, "the knots were freed"


def test_a_node_that_is_never_idle_still_frees_its_cycles_when_the_heap_has_grown(
    fresh_heap: None,
) -> None:
    keeper = HeapKeeper(5.0, idle=lambda: False)
    baseline = keeper.stats.baseline
    knots = [Knot() for _ in range(max(MIN_GROWTH, baseline * 3) // 200 + 100)]
    keeper.step()  # frozen alive
    del knots  # all garbage now, in cycles, frozen
    assert keeper.stats.full == 0
    keeper.step()  # grown past the bound: forced
    assert keeper.stats.forced == 1
    assert gc.get_freeze_count() < baseline * 1.5 + 10_000, "the cycles were collected"
