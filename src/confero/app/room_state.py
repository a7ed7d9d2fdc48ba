"""The room-state projection: what conference events change in the stored room.

A locked room stays locked for those coming back and for the next conference (F-EN2),
so ``LockChanged`` is written to the room. A reset deletes the room's chat, activity,
whiteboards, files and recordings, rows and bytes (F-EN4). The rules themselves live in
the domain: ``Conference`` and, for a room with no conference,
``confero.domain.offline``. This projection only persists their events.

It is a durable consumer of the bus (confero/bus/local.py), subscribed after the activity
log. The bus hands every event to both in that order, so a reset's ``conference_ended``
is in the log before the reset deletes the log. Both writes are idempotent, which
at-least-once delivery needs.
"""

from __future__ import annotations

from collections.abc import Callable

from confero.app.ports import BlobStore, EventBus
from confero.app.rooms import RoomService
from confero.domain import events as ev


class RoomStateProjection:
    def __init__(self, bus: EventBus, rooms: RoomService, blobs: BlobStore | None = None) -> None:
        self._rooms = rooms
        #: The bytes of files and recordings; set by the composition root.
        self.blobs = blobs
        self._unsubscribe: Callable[[], None] = bus.subscribe_durable("room_state", self.handle)

    def close(self) -> None:
        self._unsubscribe()

    async def handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.LockChanged):
            await self._rooms.set_locked(event.room_id, event.locked)
        elif isinstance(event, ev.RoomResetRequested):
            keys = await self._rooms.reset_content(event.room_id, event.by)
            # The rows are gone (committed); now their bytes. A crash here leaves only
            # unreferenced blobs, which the start-up sweep removes.
            if keys and self.blobs is not None:
                await self.blobs.delete(keys)
