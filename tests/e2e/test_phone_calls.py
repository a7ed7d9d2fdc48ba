"""Real calls from sipp (an independent SIP stack) into the phone bridge: PINs typed as
RFC 2833 events from our own captures and as SIP INFO, audio both ways detected by its
frequency, the moderator's keypad, CANCEL, OPTIONS, malformed requests, TCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.media.rtp import RtpPacket
from confero.media.tone import detect_frequency, rms
from confero.phone.stack import PhoneStack
from tests.e2e import scenarios
from tests.e2e.pcap import Stream, decode_audio
from tests.e2e.sipp import RtpTap, Sipp
from tests.loops import BOTH_LOOPS
from tests.phone.support import eventually, join, people

#: After the keys: "there is one other participant" and the move into the room.
SETTLE = 3.0


async def test_sipp_caller_joins_by_rfc2833_pin_and_hears_and_is_heard(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    other = await join(phone, room, room.pin, services)
    keys = f"1{room.conference_number}#{room.pin}##"
    stream = Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).silence(SETTLE)
    pcap = stream.tone(1000, 6).write(tmp_path / "caller.pcap")
    other.start_tone(600)
    try:
        sipp = Sipp(
            scenarios.dial(pcap, hold_seconds=0.5),
            ("127.0.0.1", phone.ua.port),
            service="5000",
            workdir=tmp_path / "sipp",
        )
        async with RtpTap(sipp.media_port) as tap, sipp:
            await eventually(lambda: len(people(services, room)) == 2, 15)
            await asyncio.sleep(SETTLE + 1)
            assert await other.hears(1000, 1.5), "the softphone hears sipp's tone"
            assert await sipp.wait(60) == 0, sipp.report()
        heard = decode_audio([RtpPacket.parse(p.payload) for p in tap.packets])
        assert rms(heard[: -8000 * 4]) > 300, "sipp heard the prompts before the room"
        tail = heard[-8000 * 3 :]  # the last seconds: in the room, prompts over
        assert rms(tail) > 300
        assert abs(detect_frequency(tail, 8000) - 600) < 15, "sipp hears the softphone"
        await eventually(lambda: len(people(services, room)) == 1)
    finally:
        await other.hangup()


async def test_sipp_wrong_pin_three_times_gets_bye(
    phone: PhoneStack, room: Room, tmp_path: Path
) -> None:
    wrong = "9" * len(room.pin) if room.pin != "9" * len(room.pin) else "8" * len(room.pin)
    keys = f"1{room.conference_number}#" + f"{wrong}#" * 3
    pcap = Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).write(tmp_path / "w.pcap")
    xml = scenarios.dial(pcap, expect_bye_from_server=True, bye_timeout=30)
    async with Sipp(
        xml, ("127.0.0.1", phone.ua.port), service="5000", workdir=tmp_path / "sipp"
    ) as sipp:
        assert await sipp.wait(60) == 0, sipp.report()
    assert "BYE sip:" in sipp.messages


async def test_sipp_admin_pin_by_sip_info_gives_the_moderator_keypad(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    guest = await join(phone, room, room.pin, services)
    try:
        keys = f"{room.admin_pin}##"
        xml = scenarios.dial(None, info_digits=keys + "*11", hold_seconds=5, info_pause=0.15)
        async with Sipp(
            xml,
            ("127.0.0.1", phone.ua.port),
            service=room.conference_number,
            workdir=tmp_path / "sipp",
        ) as sipp:
            await eventually(lambda: "moderator" in [p["role"] for p in people(services, room)], 20)
            await eventually(lambda: [p["muted"] for p in people(services, room)].count(True) == 1)
            assert await sipp.wait(60) == 0, sipp.report()
    finally:
        await guest.hangup()


async def test_sipp_star_30_hangs_up_every_leg(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    guest = await join(phone, room, room.pin, services)
    try:
        xml = scenarios.dial(
            None, info_digits=f"{room.admin_pin}##*30", expect_bye_from_server=True, info_pause=0.15
        )
        async with Sipp(
            xml,
            ("127.0.0.1", phone.ua.port),
            service=room.conference_number,
            workdir=tmp_path / "sipp",
        ) as sipp:
            assert guest.call is not None
            await asyncio.wait_for(guest.call.ended.wait(), 30)
            assert await sipp.wait(60) == 0, sipp.report()
        assert guest.call.end_reason == "bye"
        assert services.conferences.snapshot(room)["running"] is False
    finally:
        await guest.hangup()


async def test_sipp_cancel_before_answer_gets_487(phone: PhoneStack, tmp_path: Path) -> None:
    phone.bridge.ring_seconds = 3.0
    async with Sipp(
        scenarios.cancel_before_answer(ring_seconds=0.5),
        ("127.0.0.1", phone.ua.port),
        workdir=tmp_path / "sipp",
    ) as sipp:
        assert await sipp.wait(30) == 0, sipp.report()
    assert "SIP/2.0 487" in sipp.messages
    await eventually(lambda: not phone.bridge.calls and phone.bridge.tasks == 0)


async def test_sipp_options_and_malformed_request(phone: PhoneStack, tmp_path: Path) -> None:
    target = ("127.0.0.1", phone.ua.port)
    async with Sipp(scenarios.options_ping(), target, workdir=tmp_path / "o") as sipp:
        assert await sipp.wait(30) == 0, sipp.report()
    bad = (
        "OPTIONS sip:5000@[remote_ip]:[remote_port] SIP/2.0\n"
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        "From: <sip:sipp@[local_ip]>;tag=[pid]\nTo: <sip:5000@[remote_ip]>\n"
        "Call-ID: [call_id]\nCSeq: 1 OPTIONS\nMax-Forwards: 300\nContent-Length: 0\n"
    )
    async with Sipp(scenarios.raw(bad, expect_status=400), target, workdir=tmp_path / "r") as sipp:
        assert await sipp.wait(30) == 0, sipp.report()
    assert "Max-Forwards" in sipp.messages.split("SIP/2.0 400", 1)[1].split("\n", 1)[0]


@BOTH_LOOPS  # issue 13: TCP was reset on uvloop, the loop `confero serve` runs
async def test_sipp_call_over_tcp(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    xml = scenarios.dial(None, info_digits=f"{room.pin}##", hold_seconds=4, info_pause=0.15)
    async with Sipp(
        xml,
        ("127.0.0.1", phone.ua.port),
        transport="tcp",
        service=room.conference_number,
        workdir=tmp_path / "sipp",
    ) as sipp:
        await eventually(lambda: len(people(services, room)) == 1, 20)
        assert await sipp.wait(60) == 0, sipp.report()
    await eventually(lambda: not people(services, room))
