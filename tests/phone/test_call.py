"""A phone call's end (confero/phone/call.py): what it leaves behind in the process."""

from __future__ import annotations

import asyncio
import gc
import weakref

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.phone.stack import PhoneStack
from tests.phone.support import eventually, join, people


def _held_by(obj: object) -> str:
    """Who still holds ``obj`` (for the failure message: where the cycle is)."""
    names = []
    for r in gc.get_referrers(obj):
        kind = type(r).__qualname__
        if hasattr(r, "__func__"):
            kind += " " + r.__func__.__qualname__
        if hasattr(r, "cr_code"):
            kind += f" {r.cr_code.co_qualname} (running: {r.cr_frame is not None})"
        names.append(kind)
    return ", ".join(sorted(names)[:8])


async def test_an_ended_call_is_freed_at_once_without_the_cycle_collector(
    phone: PhoneStack, room: Room, services: Services
) -> None:
    """Issue 14's soak: every ended call was a knot of reference cycles (leg <-> call <->
    session <-> SIP transaction) that only a full collection could free, and full
    collections of a busy server's heap stopped the media tick for 80-100 ms every
    15-45 s. An ended call must go by reference counting alone, so the server can keep
    the collector away from the living (``confero/heap.py``)."""
    stays = await join(phone, room, room.pin, services)  # the conference goes on
    leaves = await join(phone, room, room.pin, services)
    try:
        (call,) = [c for c in phone.bridge.calls if (c.leg.remote or ("", 0))[1] == leaves.port]
        parts = {
            "PhoneCall": call,
            "RtpAudioLeg": call.leg,
            "SipCall": call.sip,
            "ParticipantSession": call.session,
            "JitterBuffer": call.leg._jitter,
        }
        watched = {name: weakref.ref(o) for name, o in parts.items() if o is not None}
        del call, parts
        gc.collect()
        gc.disable()
        try:
            await leaves.hangup()
            await eventually(lambda: len(people(services, room)) == 1)
            await eventually(lambda: phone.bridge.tasks == 1)  # the caller who stays
            await asyncio.sleep(0.2)
            alive = {name: ref() for name, ref in watched.items() if ref() is not None}
            held = {name: _held_by(o) for name, o in alive.items()}
            del alive
            assert not held, f"still alive after the call ended: {held}"
        finally:
            gc.enable()
    finally:
        await stays.hangup()
        await leaves.hangup()
