"""Ports of recordings (issue 12, Deliver 3): the recorder that writes a room's voices,
and the repository of finished recordings.

The recorder is the media engine's adapter (media/recording.py): ``start`` hands the
room's mix to a writer that never delays the mixer's tick; ``stop`` closes the file
cleanly and says what it holds. The bytes then go to the blob store under a key of its
own and a row names them (``RecordingRepository``), so a recording is either listed with
its file or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Recorded:
    """A closed recording file, not yet stored."""

    path: Path
    seconds: float
    size: int
    #: Frames lost because the writer fell behind (a slow disk); 0 normally.
    dropped: int = 0


class ActiveRecording(Protocol):
    async def stop(self) -> Recorded:
        """Close the file (flushed, final name); safe to call once."""
        ...


class Recorder(Protocol):
    def start(self, room_id: str) -> ActiveRecording:
        """Record ``room_id``'s voices (no prompts) from now on; raises ``DomainError``
        ``recording.unavailable`` when it cannot."""
        ...


@dataclass(frozen=True)
class RecordingInfo:
    """A stored recording: what the list shows, and the blob that holds it."""

    id: str
    room_id: str
    started_at: datetime
    seconds: float
    size: int
    blob: str
    started_by: str | None = None


class RecordingRepository(Protocol):
    async def add(self, recording: RecordingInfo) -> None: ...
    async def get(self, room_id: str, recording_id: str) -> RecordingInfo | None: ...
    async def list(self, room_id: str) -> Sequence[RecordingInfo]:
        """Newest first."""
        ...

    async def delete(self, room_id: str, recording_id: str) -> bool:
        """False when there was no such recording."""
        ...
