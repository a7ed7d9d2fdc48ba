"""Recordings of a room (issue 12, Deliver 3): started and stopped by the conference,
written by the recorder, stored in the blob store with a row.

The conference decides (``record_start`` / ``record_stop``, moderators only; it stops a
recording when it ends) and says so with ``RecordingChanged``. This service is a fast bus
subscriber that follows those events: it spawns the start or the stop through the
``Recorder`` port (media/recording.py) and never waits inside the handler. The work of
one room runs in order (a stop never overtakes its start). A finished file goes into the
blob store under a key of its own, then its ``RecordingRow`` is written; if the row
cannot be written the blob goes again, so there is never a file without a row or a row
without its file. Then ``RecordingSaved`` tells every page of the room.

Every recording closes cleanly: when it is stopped, when the conference ends (the
conference's own ``RecordingChanged``), and when the server stops (``close``: the
composition root calls it before the media engine stops and before the database goes).
A reset of the room while a recording is being closed discards it: the reset promised
that nothing of the room's content stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from confero.app.actor import ConferenceRegistry
from confero.app.ports import BlobStore, Clock, EventBus, UnitOfWorkFactory
from confero.app.recorder_port import ActiveRecording, Recorded, Recorder, RecordingInfo
from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.roles import Role

log = logging.getLogger(__name__)

#: The type recordings are served with (Ogg/Opus).
MEDIA_TYPE = "audio/ogg"


@dataclass(eq=False)
class _Running:
    room_id: str
    conference_id: str | None
    started_at: datetime
    started_by: str | None
    handle: ActiveRecording | None = None
    #: The room was reset while this one was closing: store nothing.
    discard: bool = False


@dataclass(eq=False)
class _Chain:
    """One room's work in order."""

    tail: asyncio.Task[None] | None = None
    running: _Running | None = None
    closing: set[_Running] = field(default_factory=set)


def recording_to_wire(r: RecordingInfo) -> dict[str, Any]:
    """What pages and API clients see of a recording (never the blob key)."""
    return {
        "id": r.id,
        "room_id": r.room_id,
        "started_at": r.started_at.isoformat(),
        "seconds": round(r.seconds, 2),
        "size": r.size,
        "started_by": r.started_by,
        "media_type": MEDIA_TYPE,
    }


class RecordingService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        bus: EventBus,
        clock: Clock,
        blobs: BlobStore,
        registry: ConferenceRegistry,
    ) -> None:
        self._uow = uow
        self._bus = bus
        self._clock = clock
        self._blobs = blobs
        self._registry = registry
        self._recorder: Recorder | None = None
        self._rooms: dict[str, _Chain] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------ lifetime
    def attach(self, recorder: Recorder | None) -> None:
        """The node's recorder (media engine adapter); without one, recording is
        ``recording.unavailable``."""
        self._recorder = recorder

    def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self._event)

    async def close(self) -> None:
        """Server stop: every running recording is closed and stored, then nothing more
        is recorded. Safe to call twice."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for room_id in list(self._rooms):
            self._then(room_id, self._stop(room_id))
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._recorder = None

    def recording(self, room_id: str) -> bool:
        chain = self._rooms.get(room_id)
        return chain is not None and chain.running is not None

    # -------------------------------------------------------------- events
    def _event(self, event: ev.Event) -> None:
        """A fast bus subscriber: only spawn."""
        match event:
            case ev.RecordingChanged(recording=True):
                self._then(event.room_id, self._start(event))
            case ev.RecordingChanged(recording=False) | ev.ConferenceEnded():
                if event.room_id in self._rooms:
                    self._then(event.room_id, self._stop(event.room_id))
            case ev.RoomResetRequested():
                chain = self._rooms.get(event.room_id)
                if chain is not None:
                    for r in (chain.running, *chain.closing):
                        if r is not None:
                            r.discard = True

    def _then(self, room_id: str, work: Awaitable[None]) -> None:
        chain = self._rooms.setdefault(room_id, _Chain())
        before = chain.tail

        async def run() -> None:
            if before is not None:
                with contextlib.suppress(BaseException):
                    await before
            try:
                await work
            except Exception:
                log.exception("recording of room %s failed", room_id)
            finally:
                if chain.tail is task and chain.running is None and not chain.closing:
                    self._rooms.pop(room_id, None)

        task = asyncio.create_task(run(), name=f"recording-{room_id}")
        chain.tail = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- work
    async def _start(self, event: ev.RecordingChanged) -> None:
        chain = self._rooms[event.room_id]
        if chain.running is not None:
            return
        running = _Running(
            event.room_id, event.conference_id, self._clock.now(), self._name_of(event)
        )
        try:
            if self._recorder is None:
                raise DomainError("recording.unavailable", "this server cannot record")
            running.handle = self._recorder.start(event.room_id)
        except DomainError as exc:
            log.warning("recording of room %s could not start: %s", event.room_id, exc.detail)
            await self._undo(event.room_id)
            return
        chain.running = running

    async def _undo(self, room_id: str) -> None:
        """The conference says "recording" but nothing records: take it back."""
        actor = self._registry.get(room_id)
        if actor is not None:
            with contextlib.suppress(DomainError):
                await actor.send(c.RecordStop(by_role=Role.MODERATOR))

    def _name_of(self, event: ev.RecordingChanged) -> str | None:
        actor = self._registry.get(event.room_id)
        if event.by is None or actor is None:
            return None
        p = actor.conference.participant(event.by)
        return p.display_name if p is not None else None

    async def _stop(self, room_id: str) -> None:
        chain = self._rooms.get(room_id)
        running = chain.running if chain is not None else None
        if chain is None or running is None or running.handle is None:
            return
        chain.running = None
        chain.closing.add(running)
        try:
            recorded = await running.handle.stop()
            await self._store(running, recorded)
        finally:
            chain.closing.discard(running)

    async def _store(self, running: _Running, recorded: Recorded) -> None:
        if running.discard or recorded.seconds <= 0 or not recorded.path.exists():
            recorded.path.unlink(missing_ok=True)
            return
        key, size = await self._blobs.write_file(recorded.path)
        info = RecordingInfo(
            id=uuid.uuid4().hex,
            room_id=running.room_id,
            started_at=running.started_at,
            seconds=recorded.seconds,
            size=size,
            blob=key,
            started_by=running.started_by,
        )
        if running.discard:  # reset meanwhile: the blob goes too
            await self._blobs.delete([key])
            return
        try:
            async with self._uow() as uow:
                await uow.recordings.add(info)
                await uow.commit()
        except BaseException:
            await self._blobs.delete([key])
            raise
        await self._bus.publish(
            ev.RecordingSaved(
                room_id=running.room_id,
                conference_id=running.conference_id,
                recording=recording_to_wire(info),
            )
        )

    # ------------------------------------------------------------- queries
    async def list(self, room_id: str) -> Sequence[RecordingInfo]:
        async with self._uow() as uow:
            return await uow.recordings.list(room_id)

    async def get(self, room_id: str, recording_id: str) -> RecordingInfo:
        async with self._uow() as uow:
            found = await uow.recordings.get(room_id, recording_id[:64])
        if found is None:
            raise DomainError("recording.not_found", "no such recording")
        return found

    def path(self, recording: RecordingInfo) -> Path:
        return self._blobs.path(recording.blob)

    async def delete(self, room_id: str, recording_id: str, *, moderator: bool) -> None:
        """Moderators only; the row goes first, then the bytes."""
        if not moderator:
            raise DomainError("auth.forbidden", "only a moderator deletes recordings")
        async with self._uow() as uow:
            found = await uow.recordings.get(room_id, recording_id[:64])
            if found is None:
                raise DomainError("recording.not_found", "no such recording")
            await uow.recordings.delete(room_id, found.id)
            await uow.commit()
        await self._blobs.delete([found.blob])
