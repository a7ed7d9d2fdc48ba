"""The ``Recorder`` port on the media engine (issue 12, Deliver 3).

A recording is an ``OggOpusRecorder`` (media/recorder.py: the tick only queues a frame,
a thread of its own encodes and writes) fed by the room's mixer through
``MediaEngine.add_recorder`` with the room's voices, never its prompts.

A room's mix exists while someone's audio is in it; it may not exist yet when recording
starts (a page still connecting) and is made anew when its last leg left and another
came (a reload). A small watcher keeps the recorder attached to whatever mix the room
has, every ``WATCH`` seconds, so no such moment loses the recording. Files are written
in a working directory on the same file system as the blob store, so storing a finished
one is a rename; a crash leaves only ``*.part`` files there, which ``sweep`` removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path

from confero.app.recorder_port import Recorded
from confero.domain.errors import DomainError
from confero.media.engine import MediaEngine
from confero.media.recorder import OggOpusRecorder

log = logging.getLogger(__name__)

#: How often the watcher checks that the recorder is attached to the room's mix.
WATCH = 0.2


class EngineRecording:
    def __init__(self, engine: MediaEngine, room_id: str, recorder: OggOpusRecorder) -> None:
        self._engine = engine
        self._room_id = room_id
        self._recorder = recorder
        self._watcher: asyncio.Task[None] | None = None
        self._stopped = False

    def begin(self) -> None:
        self._recorder.start()
        self._engine.add_recorder(self._room_id, self._recorder.feed)
        self._watcher = asyncio.create_task(self._watch(), name=f"rec-watch-{self._room_id}")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH)
            self._engine.add_recorder(self._room_id, self._recorder.feed)  # idempotent

    async def stop(self) -> Recorded:
        if not self._stopped:
            self._stopped = True
            if self._watcher is not None:
                self._watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._watcher
            self._engine.remove_recorder(self._room_id, self._recorder.feed)
        stats = await self._recorder.close()
        if stats.dropped:
            log.warning("recording %s: %d frames dropped", stats.path.name, stats.dropped)
        return Recorded(stats.path, stats.seconds, stats.size, stats.dropped)


class EngineRecorder:
    """Records rooms of ``engine`` into ``directory`` (the blob store's file system)."""

    def __init__(self, engine: MediaEngine, directory: Path) -> None:
        self._engine = engine
        self.directory = directory

    def start(self, room_id: str) -> EngineRecording:
        path = self.directory / f"{secrets.token_hex(16)}.ogg"
        recording = EngineRecording(self._engine, room_id, OggOpusRecorder(path))
        try:
            recording.begin()
        except OSError as exc:  # a directory we may not write to
            raise DomainError("recording.unavailable", f"cannot record: {exc}") from exc
        return recording

    def sweep(self) -> int:
        """Remove unfinished recordings a crash left; called at start-up."""
        if not self.directory.exists():
            return 0
        leftovers = list(self.directory.glob("*.part"))
        for p in leftovers:
            p.unlink(missing_ok=True)
        return len(leftovers)
