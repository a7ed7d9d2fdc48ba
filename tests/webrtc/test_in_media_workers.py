"""Browsers (aiortc peers through the real signaling) and a phone in conferences mixed
in media worker processes (issue 15 P4, ``CONFERO_MEDIA_WORKERS=2``): the same tests as
in one process. A browser's leg stays on the node and is pumped to its room's worker;
the phone's sockets go there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.media.workers.pool import NodeMedia
from tests.webrtc.support import Served, serving
from tests.webrtc.test_conference import (
    test_a_dropped_page_comes_back_as_itself_within_the_grace_period,
    test_a_phone_caller_and_a_browser_hear_each_other,
    test_end_for_all_ends_everyones_media_and_the_next_join_starts_anew,
    test_the_host_mutes_one_guest_and_removes_another,
)

__all__ = [
    "test_a_dropped_page_comes_back_as_itself_within_the_grace_period",
    "test_a_phone_caller_and_a_browser_hear_each_other",
    "test_end_for_all_ends_everyones_media_and_the_next_join_starts_anew",
    "test_the_host_mutes_one_guest_and_removes_another",
]


@pytest.fixture
async def served(services: Services, settings: Settings) -> AsyncIterator[Served]:
    async with serving(services, settings, media_workers=2) as served:
        media = served.node.engine
        assert isinstance(media, NodeMedia)
        yield served
        assert any(w.clock.legs or w.clock.ticks for w in media.workers)
