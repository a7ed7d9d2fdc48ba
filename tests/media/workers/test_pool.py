"""A node's media in worker processes (issue 15 P4): real worker processes, real UDP
phones. Callers whose legs went to a worker hear each other and not themselves, their
digits reach the node, a prompt reaches one caller alone, a mute set on the node holds
in the worker, a leg that stays on the node (a browser's) is mixed there, a recording
gets the room's voices, and the node's clock counts the workers' ticks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import numpy as np
import pytest

from confero.media.dtmf import DtmfSender
from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.mixer import MixLeg
from confero.media.opus import OPUS, OpusDecoder, OpusEncoder
from confero.media.tone import detect_frequency, rms, sine
from confero.media.workers.pool import LOCAL_PREFIX, NodeMedia
from confero.media.workers.remote import RemoteRtpLeg
from tests.media.test_engine import Phone, phone, tail, talk
from tests.phone.support import eventually


@pytest.fixture
async def media() -> AsyncIterator[NodeMedia]:
    node = NodeMedia(2)
    node.start()
    await node.wait_ready()
    yield node
    await node.stop()


async def enter(
    media: NodeMedia, room: str, leg_id: str, p: Phone, digits: list[str]
) -> tuple[RemoteRtpLeg, MixLeg]:
    """A caller's leg as a call makes it: opened here, then into its room's worker."""
    leg = RtpAudioLeg(leg_id, PCMU, on_digit=digits.append)
    await leg.open("127.0.0.1")
    leg.set_remote(p.address)
    mix = media.add_leg(room, leg)
    proxy = media.handed_over(leg)
    assert isinstance(proxy, RemoteRtpLeg) and leg.closed, "the worker has its sockets"
    return proxy, mix


async def test_callers_in_a_worker_hear_each_other_not_themselves(media: NodeMedia) -> None:
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    leg_b, _ = await enter(media, "room", "b", b, [])
    await talk(a, leg_a, 440, 1.2, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b), 8000) - 440) < 10 and rms(tail(b)) > 1000
    assert rms(tail(a)) < 50
    await talk(b, leg_b, 1000, 1.2, a)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(a), 8000) - 1000) < 10
    assert media.leg_count() == 2 and media.mixer("room") is None  # not mixed here
    await asyncio.sleep(0.6)  # a report of the workers' clocks
    assert media.clock.ticks > media.stats.ticks > 0
    assert leg_a.last_heard > 0 and leg_a.quality().codec == "PCMU"
    media.remove_leg("room", "a")
    media.remove_leg("room", "b")
    assert media.leg_count() == 0


async def test_rooms_spread_over_the_workers_and_the_menu_stays_here(media: NodeMedia) -> None:
    for i in range(4):
        await enter(media, f"room{i % 2}", f"leg{i}", phone(), [])
    assert [w.legs for w in media.workers] == [2, 2]
    assert len({w.process.pid for w in media.workers} | {os.getpid()}) == 3
    menu = RtpAudioLeg("menu", PCMU)
    await menu.open("127.0.0.1")
    media.add_leg(LOCAL_PREFIX + "menu", menu)
    assert media.handed_over(menu) is menu and not menu.closed
    menu.close()


async def test_digits_prompts_and_mute_cross_to_the_worker(media: NodeMedia) -> None:
    a, b = phone(), phone()
    digits: list[str] = []
    leg_a, mix_a = await enter(media, "room", "a", a, digits)
    _, mix_b = await enter(media, "room", "b", b, [])
    await talk(a, leg_a, None, 0.2, b)  # type: ignore[arg-type]
    for packet in DtmfSender(101).packets("7", a.sender, 0.1):
        a.sock.sendto(packet.to_bytes(), ("127.0.0.1", leg_a.local_port))
        await asyncio.sleep(0.02)
    await talk(a, leg_a, None, 0.4, b)  # type: ignore[arg-type]
    assert digits == ["7"]
    # a prompt for b alone: b hears it, a does not
    mix_b.overlay.add(sine(700, 1.0, 48_000, amplitude=8000).astype(np.int16))
    assert mix_b.overlay.remaining > 40_000
    await talk(a, leg_a, None, 0.8, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b, 0.5), 8000) - 700) < 15
    assert rms(tail(a, 0.5)) < 50
    # muted on the node: nobody hears a
    mix_a.muted = True
    await talk(a, leg_a, 440, 1.0, b)  # type: ignore[arg-type]
    assert rms(tail(b, 0.5)) < 50


class _NodeLeg:
    """A leg that stays on the node, as a browser's: says ``tone``, keeps what it hears."""

    def __init__(self, leg_id: str, tone: float | None) -> None:
        self.id = leg_id
        self.codec = OPUS
        self.heard: list[bytes] = []
        self._wave = sine(tone, 4.0, 48_000, amplitude=8000).astype(np.int16) if tone else None
        self._at = 0

    def pull(self, now: float | None = None) -> np.ndarray | None:
        if self._wave is None:
            return None
        frame = self._wave[self._at : self._at + 960]
        self._at = (self._at + 960) % (self._wave.size - 960)
        return frame

    def send_frame(self, frame: np.ndarray) -> None:
        self.heard.append(OpusEncoder(OPUS).encode(frame) or b"")

    def send_encoded(self, payload: bytes) -> None:
        self.heard.append(payload)


async def test_a_browser_leg_stays_here_and_is_mixed_in_the_worker(media: NodeMedia) -> None:
    a = phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    browser = _NodeLeg("browser", 600)
    media.add_leg("room", browser)
    assert media.handed_over(browser) is browser
    await talk(a, leg_a, 440, 1.5, a)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(a, 0.5), 8000) - 600) < 15, "the phone hears the browser"
    decoder = OpusDecoder()
    heard = np.concatenate([decoder.decode(p) for p in browser.heard if p])
    assert abs(detect_frequency(heard[-24_000:], 48_000) - 440) < 15, "and the browser it"


async def test_a_recording_gets_the_voices_and_the_clock_counts_every_tick(
    media: NodeMedia,
) -> None:
    a = phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    frames: list[np.ndarray] = []
    assert media.add_recorder("room", frames.append)
    await talk(a, leg_a, 500, 1.2, a)  # type: ignore[arg-type]
    media.remove_recorder("room", frames.append)
    voices = np.concatenate(frames)
    assert voices.size > 48_000 // 2 and abs(detect_frequency(voices[-24_000:], 48_000) - 500) < 15
    ticks: list[tuple[float, float]] = []
    media.on_tick = lambda late, took: ticks.append((late, took))
    await asyncio.sleep(1.2)
    assert len(ticks) > 100, "the node's ticks and its two workers'"


async def test_a_dead_worker_is_replaced_and_new_rooms_work(media: NodeMedia) -> None:
    await enter(media, "lost", "x", phone(), [])
    dead = next(w for w in media.workers if w.legs)
    dead.process.kill()
    await eventually(lambda: dead not in media.workers)
    assert media.legs_in("lost") == frozenset(), "its rooms' legs died with it"
    await media.wait_ready()
    assert media.running
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "new", "a", a, [])
    await enter(media, "new", "b", b, [])
    await talk(a, leg_a, 440, 1.2, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b), 8000) - 440) < 10


async def test_workers_run_at_the_priority_they_are_given() -> None:
    media = NodeMedia(1, nice=3)  # lowering needs no privilege; raising needs CAP_SYS_NICE
    media.start()
    try:
        await media.wait_ready()
        pid = media.workers[0].process.pid
        assert _nice(pid) == _nice(os.getpid()) + 3
    finally:
        await media.stop()


def _nice(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])
