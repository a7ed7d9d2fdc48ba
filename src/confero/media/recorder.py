"""Recording a conference's mix as Ogg/Opus (issue 12, Deliver 3; house rule 5).

The mixer hands the recorder one 20 ms frame of the full mix per tick from the event
loop; encoding and writing must never delay that tick. So ``feed`` only puts the frame
into a bounded queue and a thread of its own encodes with libopus (PyAV) and writes the
Ogg pages. When the writer falls behind (a slow disk) the queue fills and frames are
dropped and counted, never waited for: a gap in a recording is better than a late tick
for everyone in the room.

The file is written as ``<name>.part`` and renamed when closed, so a crash leaves a
``.part`` that is recognisably unfinished, never a file that looks complete.
"""

from __future__ import annotations

import asyncio
import fractions
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

RATE = 48_000
FRAME = 960
_TIME_BASE = fractions.Fraction(1, RATE)
#: Frames the writer may be behind before new ones are dropped: 10 s of audio.
MAX_BACKLOG = 500
_STOP = None

Frame = npt.NDArray[np.int16]


@dataclass(frozen=True)
class RecordingStats:
    path: Path
    #: Frames written (20 ms each) and frames dropped because the writer fell behind.
    frames: int
    dropped: int
    size: int

    @property
    def seconds(self) -> float:
        return self.frames * FRAME / RATE


class OggOpusRecorder:
    """One recording: ``start``, ``feed`` every tick, ``close`` once."""

    def __init__(self, path: Path, *, bit_rate: int = 32_000, backlog: int = MAX_BACKLOG) -> None:
        self.path = path
        self._part = path.with_name(path.name + ".part")
        self._bit_rate = bit_rate
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=backlog)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        self.frames = 0
        self.dropped = 0

    def start(self) -> None:
        assert self._thread is None, "a recorder starts once"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._write, name=f"rec-{self.path.name}")
        self._thread.daemon = True
        self._thread.start()

    def feed(self, frame: Frame) -> None:
        """Called from the mixer's tick: never blocks."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(np.array(frame, dtype=np.int16, copy=True))
        except queue.Full:
            self.dropped += 1

    async def close(self) -> RecordingStats:
        """Flush, close the file and give it its final name; safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._thread is not None:
                await asyncio.to_thread(self._queue.put, _STOP)
                await asyncio.to_thread(self._thread.join)
        if self._error is not None:
            raise RuntimeError(f"recording {self.path.name} failed") from self._error
        size = self.path.stat().st_size if self.path.exists() else 0
        return RecordingStats(self.path, self.frames, self.dropped, size)

    def _write(self) -> None:
        try:
            with av.open(str(self._part), "w", format="ogg") as container:
                stream = container.add_stream("libopus", rate=RATE)
                stream.codec_context.layout = "mono"
                stream.codec_context.format = "s16"
                stream.codec_context.bit_rate = self._bit_rate
                pts = 0
                while (frame := self._queue.get()) is not _STOP:
                    audio = av.AudioFrame.from_ndarray(
                        frame.reshape(1, -1), format="s16", layout="mono"
                    )
                    audio.sample_rate = RATE
                    audio.pts = pts
                    audio.time_base = _TIME_BASE
                    pts += frame.size
                    for packet in stream.encode(audio):
                        container.mux(packet)
                    self.frames += 1
                for packet in stream.encode(None):
                    container.mux(packet)
            if self.frames == 0:  # nothing muxed, so the muxer never opened the file
                self._part.unlink(missing_ok=True)
                return
            self._part.replace(self.path)
        except BaseException as exc:  # reported by close(); the thread must not die silently
            self._error = exc
            self._part.unlink(missing_ok=True)
