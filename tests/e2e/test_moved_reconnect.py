"""The room page in Chromium when its join loses a placement race (issue 16, F-SC2):
this node looked, nobody ran the room, and another node claimed it just before the join.
The server closes the socket with ``MOVED`` (web/ws.py) instead of showing an error; the
page reconnects at once and sends its join again, which (in a cluster) the node then
forwards to the owner (web/forward.py). Here the second claim wins on this node, so what
the user notices is simply being in the meeting, quickly, with no error on the page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from confero.app.placement import LocalPlacement, NodeInfo
from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.server import build
from tests.clock import FakeClock
from tests.e2e.chromium import Launch
from tests.webrtc.support import Served


class LostOnce(LocalPlacement):
    """The room's first claim finds another node holding it; every later one wins."""

    OTHER = NodeInfo("other", "http://127.0.0.1:9", "127.0.0.1", 5060, "127.0.0.1")

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0

    async def claim(self, room_id: str) -> NodeInfo:
        self.claims += 1
        return self.OTHER if self.claims == 1 else self.this_node


@pytest.fixture
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    """The node of ``served`` (tests/webrtc/support.py), with the racing placement."""
    svc = await build(settings, clock=clock, placement=LostOnce())
    try:
        yield svc
    finally:
        await svc.close()


async def test_a_page_whose_join_lost_the_room_reconnects_and_is_in_the_meeting(
    chromium: Launch, served: Served, room: Room
) -> None:
    page = await chromium(f"{served.base_url}/join/{room.invite_token}")
    await page.wait_for_selector("#join:not([disabled])")
    await page.fill("#name", "Ann")
    await page.click("#join")
    # One click: the page's own reconnect carries the join (no retry pause, no error).
    await page.wait_for_selector("#meeting", state="visible", timeout=5000)
    placement = served.services.registry.placement
    assert isinstance(placement, LostOnce) and placement.claims == 2
    errors: Any = await page.locator("#error").all_inner_texts()
    assert not any(text.strip() for text in errors), errors
    assert not chromium.errors  # type: ignore[attr-defined]
