"""The recorder port on the media engine (media/recording.py): a room's voices into an
Ogg/Opus file, attached to whatever mix the room has, closed whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from confero.domain.errors import DomainError
from confero.media.engine import MediaEngine
from confero.media.g711 import PCMU
from confero.media.recording import WATCH, EngineRecorder
from tests.media.ogg import decode, longest_tone


class ToneLeg:
    """A leg without a network that always speaks one tone (48 kHz, as the mixer)."""

    codec = PCMU

    def __init__(self, leg_id: str, freq: float = 440) -> None:
        self.id = leg_id
        self.freq = freq
        self._n = 0

    def pull(self, now: float | None = None) -> np.ndarray:
        t = (np.arange(960) + self._n) / 48_000
        self._n += 960
        return (8000 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)

    def send_frame(self, frame: np.ndarray) -> None:
        pass

    def send_encoded(self, payload: bytes) -> None:
        pass


def ticks(engine: MediaEngine, n: int) -> None:
    for i in range(n):
        engine.tick(i * 0.02)


async def test_the_rooms_voices_end_up_in_a_whole_ogg_opus_file(tmp_path: Path) -> None:
    engine = MediaEngine()
    engine.add_leg("room", ToneLeg("a"))
    recording = EngineRecorder(engine, tmp_path / "rec").start("room")
    ticks(engine, 100)  # 2 s
    done = await recording.stop()
    assert done.path.exists() and not list((tmp_path / "rec").glob("*.part"))
    assert done.size == done.path.stat().st_size > 1000
    assert abs(done.seconds - 2.0) < 0.05 and done.dropped == 0
    pcm = decode(done.path)
    assert longest_tone(pcm, 440) >= 1.5
    assert engine.mixer("room") is not None and engine.mixer("room").recorders == []  # type: ignore[union-attr]


async def test_a_room_without_a_mix_yet_is_recorded_once_it_has_one(tmp_path: Path) -> None:
    engine = MediaEngine()
    recording = EngineRecorder(engine, tmp_path).start("room")  # nobody's audio yet
    engine.add_leg("room", ToneLeg("a"))
    await asyncio.sleep(WATCH * 2.5)  # the watcher attaches it
    ticks(engine, 50)
    done = await recording.stop()
    assert abs(done.seconds - 1.0) < 0.05
    assert longest_tone(decode(done.path), 440) >= 0.5


async def test_a_mix_made_anew_keeps_being_recorded(tmp_path: Path) -> None:
    engine = MediaEngine()
    engine.add_leg("room", ToneLeg("a"))
    recording = EngineRecorder(engine, tmp_path).start("room")
    ticks(engine, 25)
    engine.remove_leg("room", "a")  # the last leg left: the room's mix is gone
    engine.add_leg("room", ToneLeg("b", 880))  # a reload: a new mix
    await asyncio.sleep(WATCH * 2.5)
    ticks(engine, 50)
    done = await recording.stop()
    assert abs(done.seconds - 1.5) < 0.05
    assert longest_tone(decode(done.path)[24_000:], 880) >= 0.5


async def test_stop_is_safe_twice_and_the_tick_feeds_nothing_after(tmp_path: Path) -> None:
    engine = MediaEngine()
    engine.add_leg("room", ToneLeg("a"))
    recording = EngineRecorder(engine, tmp_path).start("room")
    ticks(engine, 5)
    first = await recording.stop()
    ticks(engine, 5)
    assert await recording.stop() == first and first.seconds == pytest.approx(0.1)


async def test_an_unwritable_directory_is_recording_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DomainError) as err:
        EngineRecorder(MediaEngine(), blocker / "rec").start("room")
    assert err.value.code == "recording.unavailable"


def test_sweep_removes_what_a_crash_left(tmp_path: Path) -> None:
    (tmp_path / "a.ogg.part").write_bytes(b"x")
    (tmp_path / "keep.ogg").write_bytes(b"x")
    assert EngineRecorder(MediaEngine(), tmp_path).sweep() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["keep.ogg"]
    assert EngineRecorder(MediaEngine(), tmp_path / "none").sweep() == 0
