"""sipp callers that are not the easy case (F-PH1, issue 13): a phone behind NAT whose SDP
names a private address while its RTP comes from elsewhere, and a late offer (INVITE
without SDP: our offer in the 200, its answer in the ACK). Both type the PIN as RFC 2833
events, both are heard and hear the room; they run at once to keep the suite quick."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import numpy.typing as npt

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.media.rtp import RtpPacket
from confero.media.tone import detect_frequency, goertzel_power, rms
from confero.phone.stack import PhoneStack
from tests.e2e import scenarios
from tests.e2e.pcap import Stream, decode_audio
from tests.e2e.sipp import RtpTap, Sipp
from tests.loops import BOTH_LOOPS
from tests.phone.support import eventually, join, people

#: After the keys: "there are n other participants" and the move into the room.
SETTLE = 3.0
#: What a phone behind NAT without STUN puts in its SDP (TEST-NET-1, never routed here).
PRIVATE_IP = "192.0.2.10"


def _heard(tap: RtpTap) -> npt.NDArray[np.int16]:
    return decode_audio([RtpPacket.parse(p.payload) for p in tap.packets])


@BOTH_LOOPS
async def test_sipp_behind_nat_and_with_a_late_offer_join_hear_and_are_heard(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    other = await join(phone, room, room.pin, services)
    keys = f"1{room.conference_number}#{room.pin}##"
    typed = Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).silence(SETTLE)
    nat_pcap = typed.tone(1000, 6).write(tmp_path / "nat.pcap")
    late_pcap = (
        Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).silence(SETTLE + 6)
    ).write(tmp_path / "late.pcap")
    target = ("127.0.0.1", phone.ua.port)
    nat = Sipp(
        scenarios.dial(nat_pcap, hold_seconds=0.5, sdp_media_ip=PRIVATE_IP),
        target,
        service="5000",
        workdir=tmp_path / "nat",
    )
    late = Sipp(
        scenarios.dial(late_pcap, hold_seconds=0.5, late_offer=True),
        target,
        service="5000",
        workdir=tmp_path / "late",
    )
    other.start_tone(600)
    try:
        async with (
            RtpTap(nat.media_port) as nat_tap,
            RtpTap(late.media_port) as late_tap,
            nat,
            late,
        ):
            await eventually(lambda: len(people(services, room)) == 3, 20)
            await asyncio.sleep(SETTLE + 1)
            assert await other.hears(1000, 1.5), "the caller behind NAT is heard"
            assert await nat.wait(60) == 0, nat.report()
            assert await late.wait(60) == 0, late.report()
        assert "a=rtpmap:111 opus/48000/2" in late.messages, "our offer came in the 200"
        nat_tail = _heard(nat_tap)[-8000 * 3 :]
        assert rms(nat_tail) > 300, "the caller behind NAT hears the room"
        assert abs(detect_frequency(nat_tail, 8000) - 600) < 15
        late_tail = _heard(late_tap)[-8000 * 3 :]
        power = rms(late_tail) ** 2
        assert rms(late_tail) > 300, "the late-offer caller hears the room"
        for frequency in (600, 1000):
            share = goertzel_power(late_tail, 8000, frequency) / power
            assert share > 0.1, f"the late-offer caller hears {frequency} Hz ({share:.2f})"
        await eventually(lambda: len(people(services, room)) == 1)
    finally:
        await other.hangup()
