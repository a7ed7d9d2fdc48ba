"""Run chosen async tests on both event loops `confero` meets: asyncio's own (what the
rest of the suite runs on) and uvloop (what `confero serve` runs on).

Why (issue 13): SIP over TCP passed its tests on asyncio's loop and was reset on every
connection under uvloop, whose transports are other classes. The SIP call tests that are
cheap enough are marked ``@pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])``;
pytest-asyncio asks this hook (imported by the conftests of tests/phone and tests/e2e)
which loops exist, and every other test keeps asyncio's loop alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
LOOPS: Mapping[str, LoopFactory] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
#: The marker for a test that runs once per loop.
BOTH_LOOPS = pytest.mark.asyncio(loop_factories=list(LOOPS))


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, LoopFactory]:
    marker = item.get_closest_marker("asyncio")
    if marker is not None and "loop_factories" in marker.kwargs:
        return LOOPS
    return {"asyncio": asyncio.new_event_loop}
