"""The phone tests a caller notices most, again with the conferences mixed in media
worker processes (issue 15 P4, ``CONFERO_MEDIA_WORKERS=2``): the same softphones, the
same assertions (tones heard and not heard, prompts, keypad controls, the lobby's hold
music, a re-INVITE's hold, NAT latching, wideband codecs, a recording's voice, a call
passed on to another node), with the legs' sockets in other processes from the voice
menu on (a relayed call takes them back); and a caller whose worker dies is hung up at
once. (The keypad's
menu, names and volume test is left to one process: 42 s, and nothing in it crosses
to a worker that these do not.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.media.workers.pool import NodeMedia
from confero.phone.stack import PhoneStack
from tests.phone.softphone import FAST
from tests.phone.support import eventually, join, people
from tests.phone.test_bridge import (
    test_a_caller_behind_nat_is_latched_heard_and_hears,
    test_a_knocker_nobody_admits_hears_why_and_is_let_go,
    test_moderator_keypad_from_mute_all_to_end_for_everyone,
    test_two_callers_hear_each_other_and_not_themselves,
    test_wideband_callers_on_g722_and_opus_mix_with_a_g711_caller,
)
from tests.phone.test_bridge_offers import (
    test_a_held_caller_is_not_heard_and_resumes_by_a_reinvite_without_sdp,
)
from tests.phone.test_recording_prompts import (
    test_callers_hear_the_recording_prompts_and_their_voice_is_recorded,
)
from tests.phone.test_relay import (
    test_a_caller_whose_owner_dies_joins_the_room_again_where_it_runs_now,
    test_a_passed_on_call_is_relayed_both_ways_and_ends_with_the_owner,
    test_an_owner_that_refuses_the_call_gets_the_caller_a_prompt_and_a_bye,
)

__all__ = [
    "test_a_caller_behind_nat_is_latched_heard_and_hears",
    "test_a_caller_whose_owner_dies_joins_the_room_again_where_it_runs_now",
    "test_a_held_caller_is_not_heard_and_resumes_by_a_reinvite_without_sdp",
    "test_a_knocker_nobody_admits_hears_why_and_is_let_go",
    "test_a_passed_on_call_is_relayed_both_ways_and_ends_with_the_owner",
    "test_an_owner_that_refuses_the_call_gets_the_caller_a_prompt_and_a_bye",
    "test_callers_hear_the_recording_prompts_and_their_voice_is_recorded",
    "test_moderator_keypad_from_mute_all_to_end_for_everyone",
    "test_two_callers_hear_each_other_and_not_themselves",
    "test_wideband_callers_on_g722_and_opus_mix_with_a_g711_caller",
]


@pytest.fixture
async def phone(services: Services, settings: Settings) -> AsyncIterator[PhoneStack]:
    settings = settings.model_copy(
        update={"sip_port": 0, "access_number": "5000", "media_workers": 2}
    )
    stack = PhoneStack.build(services, settings)
    assert isinstance(stack.engine, NodeMedia)
    stack.ua.transactions.timers = FAST
    await stack.start()
    yield stack
    await stack.stop()
    assert stack.engine.handed > 0, "callers' legs went to the workers"
    assert stack.bridge.tasks == 0, "every call's task ended"
    assert stack.engine.leg_count() == 0, "every RTP leg left the mixer"


async def test_a_caller_whose_worker_dies_gets_a_bye_at_once(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Its sockets died with the worker: the server hangs up within a second or two,
    not after the 30 s media timeout, and the room lets the caller go."""
    assert phone.bridge.media_timeout >= 30
    caller = await join(phone, room, room.pin, services)
    call = caller.call
    assert call is not None
    engine = phone.engine
    assert isinstance(engine, NodeMedia)
    index = engine.worker_of(room.id)
    worker = next(w for w in engine.workers if w.index == index)
    worker.process.kill()
    await asyncio.wait_for(call.ended.wait(), 5)
    assert call.end_reason == "bye", "the server said goodbye"
    await eventually(lambda: not people(services, room))
