"""Browsers (aiortc peers through the real signaling) and a phone in conferences mixed
in media worker processes (issue 15 P4, ``CONFERO_MEDIA_WORKERS=2``): the same tests as
in one process. A browser's leg stays on the node and is pumped to its room's worker;
the phone's sockets go there. When that worker dies the phone is hung up and the pages
hear each other again, without reconnecting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.media.workers.pool import NodeMedia
from tests.phone.support import eventually, people
from tests.phone.support import join as dial_in
from tests.webrtc.support import Browser, Served, serving
from tests.webrtc.test_conference import (
    enter,
    hears,
    host_cookie,
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


async def test_pages_hear_each_other_again_when_their_rooms_worker_dies(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    media = served.node.engine
    phone = served.node.phone
    assert isinstance(media, NodeMedia) and phone is not None
    cookie = await host_cookie(served.services)
    host = await enter(served, room, browsers, "Host", cookie=cookie, tone_hz=1000)
    ann = await enter(served, room, browsers, "Ann", tone_hz=600)
    caller = await dial_in(phone, room, room.pin, served.services)
    try:
        await hears(ann, 1000)
        await hears(host, 600)
        index = media.worker_of(room.id)
        dead = next(w for w in media.workers if w.index == index)
        dead.process.kill()
        assert caller.call is not None
        await asyncio.wait_for(caller.call.ended.wait(), 5)  # its sockets died there
        await hears(ann, 1000, within=5)
        await hears(host, 600, within=5)
        await eventually(lambda: len(people(served.services, room)) == 2)
        assert media.worker_of(room.id) == index, "the room went on in its successor"
    finally:
        await caller.hangup()
