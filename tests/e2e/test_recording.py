"""Recording a meeting with real parts (issue 12, Deliver 3): a sipp caller sends a
440 Hz tone, Chromium pages send their fake microphones (1000 Hz for the signed-in
owner, 700 Hz for a guest); the owner starts and stops recording with the meeting's
button. Everyone sees the indicator; the sipp caller hears the recording prompt; the
stored file is Ogg/Opus that PyAV decodes with every voice's tone in it; the page lists
it, plays it and the moderator deletes it. The end of the conference closes a running
recording into a whole file with its row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, expect

from confero.config import Settings
from confero.domain.rooms import Room
from confero.media.rtp import RtpPacket
from confero.phone.call import Samples
from confero.phone.ivr import Speech
from tests.e2e import scenarios
from tests.e2e.chromium import Launch
from tests.e2e.pcap import Stream, decode_audio
from tests.e2e.sipp import RtpTap, Sipp, TappedPacket
from tests.e2e.test_browser_meeting import enter, host_page, invite
from tests.media.ogg import decode, residual_rms, tone_prominence_db
from tests.phone.support import eventually
from tests.webrtc.support import Served

SETTLE = 3.0
SOON = 15_000
HOST_HZ, GUEST_HZ, CALLER_HZ = 1000.0, 700.0, 440.0


def on_disk(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def heard_between(packets: Sequence[TappedPacket], start: float, end: float) -> np.ndarray:
    """What the caller heard (8 kHz) from ``start`` to ``end`` (monotonic seconds)."""
    chosen = [RtpPacket.parse(p.payload) for p in packets if start <= p.at < end]
    return decode_audio(chosen)


def spy_prompts(served: Served, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    assert served.node.phone is not None
    prompts = served.node.phone.bridge.prompts
    said: list[tuple[object, ...]] = []
    render = prompts.render

    def spy(items: Sequence[Speech], language: str) -> Samples:
        said.append(tuple(items))
        return render(items, language)

    monkeypatch.setattr(prompts, "render", spy)
    return said


async def plays(page: Page) -> float:
    """The first listed recording loaded into its <audio> player: its duration."""
    duration: float = await page.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.querySelector('#recordings audio');
            audio.addEventListener('loadedmetadata', () => resolve(audio.duration), {once: true});
            audio.addEventListener('error', () => reject(String(audio.error?.code)), {once: true});
            audio.preload = 'metadata';
            audio.load();
        })"""
    )
    return duration


async def test_a_caller_and_two_pages_are_recorded_and_everyone_is_told(
    served: Served,
    room: Room,
    chromium: Launch,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert served.node.phone is not None
    said = spy_prompts(served, monkeypatch)
    host = await host_page(chromium, served, room, tone_hz=HOST_HZ)
    await enter(host)
    guest = await chromium(invite(served, room), tone_hz=GUEST_HZ)
    await enter(guest, "Ann")
    await expect(host.locator("#record")).to_be_visible()
    await expect(guest.locator("#record")).to_be_hidden()  # moderators only
    for page in (host, guest):
        await expect(page.locator("#recording-indicator")).to_be_hidden()

    keys = f"1{room.conference_number}#{room.pin}##"
    stream = Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).silence(SETTLE)
    pcap = stream.tone(CALLER_HZ, 16, amplitude=0.3).write(tmp_path / "caller.pcap")
    sipp = Sipp(
        scenarios.dial(pcap, hold_seconds=1.0),
        ("127.0.0.1", served.node.phone.ua.port),
        service="5000",
        workdir=tmp_path / "sipp",
    )
    async with RtpTap(sipp.media_port) as tap, sipp:
        await host.locator("#participants .participant[data-channel='phone']").wait_for(
            timeout=20_000
        )
        await asyncio.sleep(SETTLE + 1.5)  # the caller's count prompt is over
        started = time.monotonic()
        await host.click("#record")
        for page in (host, guest):
            await expect(page.locator("#recording-indicator")).to_be_visible(timeout=SOON)
        await expect(host.locator("#record")).to_have_attribute("aria-pressed", "true")
        await eventually(lambda: ("recording_started",) in said, 5)
        await asyncio.sleep(5.0)
        await host.click("#record")
        stopped = time.monotonic()
        for page in (host, guest):
            await expect(page.locator("#recording-indicator")).to_be_hidden(timeout=SOON)
            await page.locator("#recordings .recording").wait_for(timeout=SOON)
        assert await sipp.wait(60) == 0, sipp.report()

    # The caller heard the prompt: right after the start, something besides the room's
    # three steady tones, far louder than just before.
    room_tones = (CALLER_HZ, HOST_HZ, GUEST_HZ)
    before = heard_between(tap.packets, started - 1.5, started)
    after = heard_between(tap.packets, started + 0.3, started + 2.3)
    assert before.size >= 8000 and after.size >= 8000
    quiet, prompt = residual_rms(before, room_tones, 8000), residual_rms(after, room_tones, 8000)
    assert prompt > 300 and prompt > 3 * quiet, (quiet, prompt)

    # One stored recording: Ogg/Opus, PyAV decodes every voice's tone from it.
    (rec,) = await served.services.recordings.list(room.id)
    path = served.services.recordings.path(rec)
    assert on_disk(settings.data_dir / "files") == [rec.blob]
    assert on_disk(settings.data_dir / "recording") == [], "no working file left"
    pcm = decode(path)
    # as long as it ran (the clicks are seconds apart on a loaded machine), no longer
    assert 4.0 < pcm.size / 48_000 < stopped - started + 1.0
    assert abs(rec.seconds - pcm.size / 48_000) < 0.5
    middle = pcm[pcm.size // 2 - 24_000 : pcm.size // 2 + 24_000]
    for hz in (CALLER_HZ, HOST_HZ, GUEST_HZ):
        assert tone_prominence_db(middle, hz) > 30, hz

    # The page lists, plays and downloads it; the moderator deletes it.
    item = guest.locator("#recordings .recording")
    await expect(item.locator(".recording-delete")).to_have_count(0)
    assert "download=1" in (await item.locator("a.recording-download").get_attribute("href") or "")
    assert await plays(guest) > 3.0
    await host.locator("#recordings .recording-delete").click()
    await host.click("#confirm-ok")
    await expect(host.locator("#recordings .recording")).to_have_count(0)
    await expect(host.locator("#recordings-panel")).to_be_hidden()
    assert await served.services.recordings.list(room.id) == []
    assert on_disk(settings.data_dir / "files") == []


async def test_ending_the_meeting_closes_a_running_recording(
    served: Served, room: Room, chromium: Launch, settings: Settings
) -> None:
    host = await host_page(chromium, served, room, tone_hz=HOST_HZ)
    await enter(host)
    await host.wait_for_function(
        "() => window.confero.publishPc?.connectionState === 'connected'", timeout=SOON
    )
    await host.click("#record")
    await expect(host.locator("#recording-indicator")).to_be_visible(timeout=SOON)
    await asyncio.sleep(2.5)
    await host.hover("#leave-menu")
    await host.click("#end-all")
    await host.click("#confirm-ok")
    await host.wait_for_selector("#ended", state="visible")

    async def stored() -> bool:
        return len(await served.services.recordings.list(room.id)) == 1

    await eventually(stored, 10)
    (rec,) = await served.services.recordings.list(room.id)
    pcm = decode(served.services.recordings.path(rec))
    assert rec.seconds > 1.0 and tone_prominence_db(pcm[-48_000:], HOST_HZ) > 30
    assert on_disk(settings.data_dir / "recording") == []
