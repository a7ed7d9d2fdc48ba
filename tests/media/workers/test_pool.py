"""A node's media in worker processes (issue 15 P4): real worker processes, real UDP
phones. Callers whose legs went to a worker hear each other and not themselves, their
digits reach the node, a prompt reaches one caller alone, a mute set on the node holds
in the worker, a leg that stays on the node (a browser's) is mixed there, a recording
gets the room's voices, and the node's clock counts the workers' ticks. A caller's leg
goes to a worker with the voice menu, and on to its room's worker when that is another."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from confero.media.dtmf import DtmfSender
from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.mixer import MixLeg
from confero.media.opus import OPUS, OpusDecoder, OpusEncoder
from confero.media.tone import detect_frequency, rms, sine
from confero.media.workers.pool import NodeMedia
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
    assert media.clock.ticks > 0 and media.stats.ticks == 0, "the workers tick, the node idles"
    assert leg_a.last_heard > 0 and leg_a.quality().codec == "PCMU"
    media.remove_leg("room", "a")
    media.remove_leg("room", "b")
    assert media.leg_count() == 0


async def test_rooms_spread_over_the_workers(media: NodeMedia) -> None:
    for i in range(4):
        await enter(media, f"room{i % 2}", f"leg{i}", phone(), [])
    assert [w.legs for w in media.workers] == [2, 2]
    assert len({w.process.pid for w in media.workers} | {os.getpid()}) == 3


async def test_a_caller_leaves_the_menu_for_a_room_on_the_other_worker(media: NodeMedia) -> None:
    """The voice menu mixes in a worker too; entering a room on the other worker moves
    the sockets there, and the caller hears the room, is heard, and still types."""
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    digits: list[str] = []
    leg_b, menu = await enter(media, "call:b", "b", b, digits)
    assert media.worker_of("call:b") != media.worker_of("room")
    named: list[np.ndarray] = []
    media.tap("b", named.append)  # the caller records its name
    menu.overlay.add(sine(700, 1.0, 48_000, amplitude=8000).astype(np.int16))
    await talk(b, leg_b, 500, 1.0, b)  # type: ignore[arg-type]
    media.tap("b", None)
    assert abs(detect_frequency(tail(b, 0.5), 8000) - 700) < 15, "b hears the menu's prompt"
    voice = np.concatenate(named)
    assert abs(detect_frequency(voice[-24_000:], 48_000) - 500) < 15, "the tap got b's voice"
    ticks = media.stats.ticks

    media.move_leg(leg_b, "call:b", "room", listening=True, owner="pb")
    assert media.moved == 1 and media.legs_in("room") == {"a", "b"}
    assert media.handed_over(leg_b) is leg_b, "the call keeps one proxy"
    await talk(a, leg_a, 440, 1.2, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b), 8000) - 440) < 10, "b hears the room"
    await talk(b, leg_b, 1000, 1.2, a)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(a), 8000) - 1000) < 10, "and is heard"
    await _press(b, leg_b, "5")
    assert digits == ["5"]
    assert media.stats.ticks == ticks, "no leg mixes on the node: its clock idles"


async def test_a_caller_who_opens_a_room_stays_on_its_worker(media: NodeMedia) -> None:
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "call:a", "a", a, [])
    media.move_leg(leg_a, "call:a", "new", listening=True, owner=None)
    leg_b, _ = await enter(media, "call:b", "b", b, [])
    media.move_leg(leg_b, "call:b", "new", listening=True, owner=None)
    assert media.moved == 1 and media.handed == 2, "a stayed; b came to a's worker"
    await talk(a, leg_a, 440, 1.2, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b), 8000) - 440) < 10


async def test_a_relayed_caller_takes_its_sockets_back(media: NodeMedia) -> None:
    """A call passed on to another node (issue 16) relays from the leg's own socket:
    the worker gives it back, and the voice menu's last words mix on the node."""
    a = phone()
    leg_a, _ = await enter(media, "call:a", "a", a, [])
    local = await media.reclaim(leg_a)
    assert isinstance(local, RtpAudioLeg) and local.transport is not None
    assert media.legs_in("call:a") == frozenset() and media.leg_count() == 0
    mix = media.add_leg("call:a", local, listening=False)
    assert media.handed_over(local) is local and media.mixer("call:a") is not None
    mix.overlay.add(sine(700, 1.0, 48_000, amplitude=8000).astype(np.int16))
    await talk(a, local, None, 0.8, a)
    assert abs(detect_frequency(tail(a, 0.5), 8000) - 700) < 15
    media.remove_leg("call:a", "a")
    local.close()


async def test_what_the_call_asks_while_the_sockets_come_back_is_done_here(
    media: NodeMedia,
) -> None:
    """A re-INVITE that moves the caller's media (``set_remote``) while the worker is
    handing the sockets back: the leg on the node sends to the new address."""
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "call:a", "a", a, [])
    coming = asyncio.ensure_future(media.reclaim(leg_a))
    await asyncio.sleep(0)  # the worker is asked to let go
    leg_a.set_remote(b.address)
    local = await coming
    assert isinstance(local, RtpAudioLeg) and local.remote == b.address
    mix = media.add_leg("call:a", local, listening=False)
    mix.overlay.add(sine(700, 1.0, 48_000, amplitude=8000).astype(np.int16))
    await talk(a, local, None, 0.8, b)
    assert abs(detect_frequency(tail(b, 0.5), 8000) - 700) < 15, "the new address hears it"
    media.remove_leg("call:a", "a")
    local.close()


async def _press(p: Phone, leg: RemoteRtpLeg, digit: str) -> None:
    for packet in DtmfSender(101).packets(digit, p.sender, 0.1):
        p.sock.sendto(packet.to_bytes(), ("127.0.0.1", leg.local_port))
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)


async def test_digits_prompts_and_mute_cross_to_the_worker(media: NodeMedia) -> None:
    a, b = phone(), phone()
    digits: list[str] = []
    leg_a, mix_a = await enter(media, "room", "a", a, digits)
    _, mix_b = await enter(media, "room", "b", b, [])
    await talk(a, leg_a, None, 0.2, b)  # type: ignore[arg-type]
    await _press(a, leg_a, "7")
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
    await eventually(lambda: len(ticks) >= 100)  # both workers' (the node's clock idles)


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


async def test_a_worker_stopped_a_moment_reports_a_late_tick_no_one_here_caused(
    media: NodeMedia,
) -> None:
    """SIGSTOP for 100 ms, as a hypervisor running another guest would: the worker's
    next tick is late, and put down to neither a wait for a core nor its own work;
    ``/api/health`` shows it per clock (``NodeClock.parts``)."""
    await enter(media, "room", "a", phone(), [])
    pid = media.workers[0].process.pid
    await asyncio.sleep(0.6)
    os.kill(pid, signal.SIGSTOP)
    await asyncio.sleep(0.1)
    os.kill(pid, signal.SIGCONT)
    await eventually(lambda: media.clock.late_20ms >= 1, 3)
    first = media.clock.parts()[1]
    assert first["clock"] == "worker 1" and first["late_20ms"] >= 1
    assert first["late_20ms_other"] >= 1, first


async def _split(media: NodeMedia) -> tuple[Phone, RemoteRtpLeg, Phone, RemoteRtpLeg]:
    """a in its room, b in its voice menu on the other worker."""
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    leg_b, _ = await enter(media, "call:b", "b", b, [])
    assert media.worker_of("call:b") != media.worker_of("room")
    return a, leg_a, b, leg_b


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _worker(media: NodeMedia, room: str) -> Any:
    index = media.worker_of(room)
    return next(w for w in media.workers if w.index == index)


async def test_a_leg_whose_worker_dies_as_it_leaves_is_gone_and_its_call_harmless(
    media: NodeMedia, caplog: pytest.LogCaptureFixture
) -> None:
    """The menu's worker dies before it gives the caller's sockets back: the leg died
    with it. Its call may still move it, set it and remove it; nothing waits for it and
    the room it was bound for goes on."""
    a, leg_a, _, leg_b = await _split(media)
    source = _worker(media, "call:b")
    os.kill(source.process.pid, signal.SIGSTOP)  # the Release waits in its channel
    media.move_leg(leg_b, "call:b", "room", listening=True, owner="pb")
    source.process.kill()
    await eventually(lambda: source not in media.workers)
    assert media.legs_in("room") == {"a"}, "b's sockets died: it is not in the room"
    media.move_leg(leg_b, "room", "elsewhere", listening=True, owner="pb")  # no assert
    leg_b.sending = False  # its call still sets it: nothing holds the message
    media.remove_leg("elsewhere", "b")
    c = phone()
    await enter(media, "room", "c", c, [])
    await talk(a, leg_a, 440, 1.2, c)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(c), 8000) - 440) < 10, "the room goes on"
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "died" in errors[0].message, errors


async def test_a_leg_bound_for_a_worker_that_dies_is_dropped_when_it_arrives(
    media: NodeMedia, caplog: pytest.LogCaptureFixture
) -> None:
    """The room's worker dies while the caller's sockets are on their way to it: they
    are closed when they come back, not sent to a dead worker."""
    _, _, _, leg_b = await _split(media)
    source, target = _worker(media, "call:b"), _worker(media, "room")
    os.kill(source.process.pid, signal.SIGSTOP)
    media.move_leg(leg_b, "call:b", "room", listening=True, owner="pb")
    target.process.kill()
    await eventually(lambda: target not in media.workers)
    os.kill(source.process.pid, signal.SIGCONT)  # the sockets come back now
    await eventually(lambda: port_free(leg_b.local_port), 5)  # and are closed
    assert media.legs_in("room") == frozenset() and media.leg_count() == 0
    media.remove_leg("room", "b")
    await media.wait_ready()
    d, e = phone(), phone()
    leg_d, _ = await enter(media, "room", "d", d, [])
    await enter(media, "room", "e", e, [])
    await talk(d, leg_d, 440, 1.2, e)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(e), 8000) - 440) < 10, "the room starts afresh"
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "died" in errors[0].message, errors


def _heard_by(browser: _NodeLeg) -> np.ndarray:
    decoder = OpusDecoder()
    return np.concatenate([decoder.decode(p) for p in browser.heard if p])


def _power_at(samples: np.ndarray, frequency: float, rate: int = 48_000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(spectrum[round(frequency * samples.size / rate)])


async def test_browsers_hear_their_room_again_when_its_worker_dies(media: NodeMedia) -> None:
    """The browsers' audio is here, only their mix was in the worker: the room goes on in
    the worker that replaces it, with each browser's settings (a muted one stays muted);
    the phone's leg died with the worker and is gone from the room."""
    talker, muted, ear = _NodeLeg("talker", 600), _NodeLeg("muted", 900), _NodeLeg("ear", None)
    await enter(media, "room", "phone", phone(), [])
    for leg in (talker, muted, ear):
        mix = media.add_leg("room", leg)
        mix.muted = leg is muted
    dead = _worker(media, "room")
    dead.process.kill()
    await eventually(lambda: dead not in media.workers)
    assert media.legs_in("room") == frozenset({"talker", "muted", "ear"}), "the phone's is gone"
    await media.wait_ready()
    ear.heard.clear()
    await asyncio.sleep(1.5)
    heard = _heard_by(ear)
    assert heard.size > 24_000, "the page hears its room again"
    tail_ = heard[-24_000:]
    assert abs(detect_frequency(tail_, 48_000) - 600) < 15
    assert _power_at(tail_, 900) < 0.01 * _power_at(tail_, 600), "the muted one stays muted"


def _wake_ups(pid: int) -> int:
    """The times a worker's main thread went to sleep and was woken (its event loop)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


async def _woken_in(media: NodeMedia, seconds: float) -> list[int]:
    pids = [w.process.pid for w in media.workers]
    before = [_wake_ups(pid) for pid in pids]
    await asyncio.sleep(seconds)
    return [_wake_ups(pid) - b for pid, b in zip(pids, before, strict=True)]


async def test_an_idle_worker_sleeps_until_a_leg_comes(media: NodeMedia) -> None:
    """With no legs a worker is not woken 50 times a second (100 wake-ups in 2 s); a
    caller wakes it and is mixed; when the last leg leaves it sleeps again, and its
    clock's lag, which admission sheds calls on, is none (an old lag would shed the
    next callers for good: they are what would wake it)."""
    await asyncio.sleep(0.3)
    assert max(await _woken_in(media, 2.0)) < 20, "idle workers sleep"
    a, b = phone(), phone()
    leg_a, _ = await enter(media, "room", "a", a, [])
    await enter(media, "room", "b", b, [])
    busy = await _woken_in(media, 1.0)
    assert max(busy) >= 40, "the room's worker ticks"
    await talk(a, leg_a, 440, 1.2, b)  # type: ignore[arg-type]
    assert abs(detect_frequency(tail(b), 8000) - 440) < 10
    pid = _worker(media, "room").process.pid
    os.kill(pid, signal.SIGSTOP)  # a late tick: the clock lags (admission sheds on it)
    await asyncio.sleep(0.1)
    os.kill(pid, signal.SIGCONT)
    await eventually(lambda: media.clock.lag > 0, 3)
    media.remove_leg("room", "a")
    media.remove_leg("room", "b")
    await eventually(lambda: media.clock.lag == 0, 3)  # idle lags nothing: no shedding
    await asyncio.sleep(0.3)
    assert max(await _woken_in(media, 2.0)) < 20, "asleep again"
