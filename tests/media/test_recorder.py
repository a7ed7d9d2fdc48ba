"""The recorder writes a playable Ogg/Opus file of what it was fed, without blocking."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np

from confero.media import tone
from confero.media.recorder import FRAME, RATE, OggOpusRecorder


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
    pcm = np.concatenate(chunks)
    if pcm.dtype.kind == "f":
        pcm = (pcm * 32767).astype(np.int16)
    return pcm


async def test_a_fed_tone_comes_back_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rec" / "meeting.ogg"
    recorder = OggOpusRecorder(path)
    recorder.start()
    wave = tone.sine(440, 2.0, RATE, amplitude=0.3)
    for i in range(0, wave.size, FRAME):
        recorder.feed(wave[i : i + FRAME])
    stats = await recorder.close()
    assert stats.frames == 100 and stats.dropped == 0
    assert path.exists() and not path.with_name("meeting.ogg.part").exists()
    assert stats.size == path.stat().st_size > 1000
    pcm = decode(path)
    assert abs(pcm.size / RATE - 2.0) < 0.1
    assert tone.has_tone(pcm[RATE // 2 : RATE * 3 // 2], RATE, 440)


async def test_feeding_never_waits_for_a_slow_writer(tmp_path: Path) -> None:
    recorder = OggOpusRecorder(tmp_path / "x.ogg", backlog=10)
    # Not started: nobody drains the queue, as with a disk that hangs.
    started = time.perf_counter()
    for _ in range(50):
        recorder.feed(np.zeros(FRAME, dtype=np.int16))
    assert time.perf_counter() - started < 0.5  # a feed that waited would hang
    assert recorder.dropped == 40


async def test_close_twice_and_feed_after_close_are_harmless(tmp_path: Path) -> None:
    recorder = OggOpusRecorder(tmp_path / "y.ogg")
    recorder.start()
    recorder.feed(np.zeros(FRAME, dtype=np.int16))
    first = await recorder.close()
    recorder.feed(np.zeros(FRAME, dtype=np.int16))
    second = await recorder.close()
    assert first == second and first.frames == 1


async def test_a_recording_that_heard_nothing_closes_without_a_file(tmp_path: Path) -> None:
    """Stopped before the first tick reached it (a busy machine): no error, no file."""
    recorder = OggOpusRecorder(tmp_path / "z.ogg")
    recorder.start()
    stats = await recorder.close()
    assert stats.frames == 0 and stats.size == 0
    assert not (tmp_path / "z.ogg").exists() and not (tmp_path / "z.ogg.part").exists()
