"""Phone and browser in one room (F-WB5): a sipp caller and a Chromium page hear each
other, each tone detected by its frequency on the other side."""

from __future__ import annotations

from pathlib import Path

from confero.domain.rooms import Room
from confero.media.rtp import RtpPacket
from confero.media.tone import detect_frequency, rms
from tests.e2e import scenarios
from tests.e2e.chromium import Launch, hears
from tests.e2e.pcap import Stream, decode_audio
from tests.e2e.sipp import RtpTap, Sipp
from tests.phone.support import eventually
from tests.webrtc.support import Served

SETTLE = 3.0


async def test_sipp_caller_and_browser_hear_each_other(
    served: Served, room: Room, chromium: Launch, tmp_path: Path
) -> None:
    assert served.node.phone is not None
    page = await chromium(f"{served.base_url}/join/{room.invite_token}", tone_hz=600)
    await page.wait_for_selector("#join:not([disabled])")
    await page.fill("#name", "Browser")
    await page.click("#join")
    await page.wait_for_selector("#meeting", state="visible")

    keys = f"1{room.conference_number}#{room.pin}##"
    stream = Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).silence(SETTLE)
    pcap = stream.tone(1000, 10).write(tmp_path / "caller.pcap")
    sipp = Sipp(
        scenarios.dial(pcap, hold_seconds=0.5),
        ("127.0.0.1", served.node.phone.ua.port),
        service="5000",
        workdir=tmp_path / "sipp",
    )
    async with RtpTap(sipp.media_port) as tap, sipp:
        phone_row = page.locator("#participants .participant[data-channel='phone']")
        await phone_row.wait_for(timeout=20_000)
        await eventually(lambda: hears(page, 1000), 15)
        assert await sipp.wait(60) == 0, sipp.report()
    heard = decode_audio([RtpPacket.parse(p.payload) for p in tap.packets])
    tail = heard[-8000 * 4 :]  # in the room, prompts over
    assert rms(tail) > 300
    assert abs(detect_frequency(tail, 8000) - 600) < 15, "sipp hears the browser"
    await phone_row.wait_for(state="detached", timeout=10_000)
