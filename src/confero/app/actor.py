"""One ConferenceActor per live conference: the only writer of its state (house rule 2).

Keypad presses, browser buttons and API calls all arrive here as ``Command`` objects on
one queue; the actor applies them to the domain ``Conference`` one at a time, appends the
resulting events to the bus's outbox (``EventBus.emit``: it never waits, so a command
holds the actor only as long as the domain takes; the database writes happen in the
bus's own ordered task, confero/bus/local.py) and answers the sender. When the
conference ends the actor stops and leaves the registry, so the next join starts a new
conference (F-RS4).

The actor is the only reader and writer of its ``Conference``: others get the frozen
``ConferenceSnapshot`` it takes after every command (``snapshot()``; ``conference`` is
the same snapshot).

In a cluster (issue 16, F-SC2) the registry opens a new actor only once this node holds
the room's lease (app/placement.py) and gives the lease up when the actor stops; a lost
lease ends the conference here with reason ``moved``. Lease traffic is the registry's
own tasks, never the actor's: the actor still never awaits I/O. One lock per room orders
a claim and a release of the same room, so a release scheduled by an ended conference
cannot drop the lease of the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from confero.app.placement import LocalPlacement, Placement, elsewhere
from confero.app.ports import EventBus
from confero.domain import commands as c
from confero.domain.conference import Conference
from confero.domain.errors import DomainError
from confero.domain.events import Event
from confero.domain.roles import Role
from confero.domain.snapshots import ConferenceSnapshot

log = logging.getLogger(__name__)

#: The end reason of a conference whose room another node runs now (its lease was lost):
#: the page shows its generic "The meeting has ended." and a phone hears
#: ``conference_closed``, as for every reason they have no words of their own for.
MOVED = "moved"


@dataclass
class _Envelope:
    command: c.Command
    reply: asyncio.Future[list[Event]]


class ConferenceActor:
    def __init__(
        self, conference: Conference, bus: EventBus, on_stop: Callable[[ConferenceActor], None]
    ) -> None:
        self._conference = conference
        self._snapshot = conference.frozen()
        self._bus = bus
        self._on_stop = on_stop
        self._queue: asyncio.Queue[_Envelope | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._helpers: set[asyncio.Task[Any]] = set()

    @property
    def room_id(self) -> str:
        return self._snapshot.room_id

    @property
    def conference(self) -> ConferenceSnapshot:
        """The conference as the last command left it (frozen)."""
        return self._snapshot

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._snapshot.ended

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"conference-{self._snapshot.id}")

    def spawn(self, coro: Any) -> None:
        """Tasks that live and die with this conference (e.g. the window timer)."""
        task = asyncio.create_task(coro)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    async def send(self, command: c.Command) -> list[Event]:
        if not self.running:
            raise DomainError("conference.ended", "the conference has ended")
        reply: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Envelope(command, reply))
        return await reply

    def snapshot(self) -> ConferenceSnapshot:
        return self._snapshot

    async def _run(self) -> None:
        try:
            while not self._conference.ended:
                envelope = await self._queue.get()
                if envelope is None:
                    break
                self._handle(envelope)
        finally:
            self._drain()
            for task in list(self._helpers):
                if task is not asyncio.current_task():
                    task.cancel()
            self._on_stop(self)

    def _handle(self, envelope: _Envelope) -> None:
        """One command, start to answer, without a single ``await`` (house rule 2)."""
        try:
            events = self._conference.apply(envelope.command)
        except DomainError as exc:
            envelope.reply.set_exception(exc)
        except Exception as exc:  # a bug: answer the caller, keep the room alive
            log.exception("command %s failed", envelope.command.name)
            envelope.reply.set_exception(exc)
            self._snapshot = self._conference.frozen()
        else:
            # Readers the events wake up (a page syncing its mute) see the new state.
            self._snapshot = self._conference.frozen()
            self._bus.emit(events)
            if not envelope.reply.done():
                envelope.reply.set_result(events)
        if self._conference.close_if_idle():
            self._snapshot = self._conference.frozen()

    def _drain(self) -> None:
        while not self._queue.empty():
            envelope = self._queue.get_nowait()
            if envelope is not None and not envelope.reply.done():
                envelope.reply.set_exception(
                    DomainError("conference.ended", "the conference has ended")
                )

    async def stop(self) -> None:
        """Shut down without ending the conference for its participants (server stop)."""
        if self._task is None:
            return
        await self._queue.put(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        helpers = list(self._helpers)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)


class _RoomLocks:
    """One asyncio lock per room while someone uses it (claims and releases)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, room_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(room_id, (asyncio.Lock(), 0))
        self._locks[room_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[room_id]
            if users == 1:
                del self._locks[room_id]
            else:
                self._locks[room_id] = (lock, users - 1)


class ConferenceRegistry:
    """The live conferences of this process, at most one per room; in a cluster, only
    rooms whose lease this node holds."""

    def __init__(self, bus: EventBus, placement: Placement | None = None) -> None:
        self._bus = bus
        self._actors: dict[str, ConferenceActor] = {}
        self.placement: Placement = placement or LocalPlacement()
        self.placement.on_lost(self._lost)
        self._rooms = _RoomLocks()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, room_id: str) -> ConferenceActor | None:
        actor = self._actors.get(room_id)
        return actor if actor is not None and actor.running else None

    def open(
        self, room_id: str, factory: Callable[[str], Conference]
    ) -> tuple[ConferenceActor, bool]:
        """The room's running actor, or a new one; True when it was just started."""
        actor = self.get(room_id)
        if actor is not None:
            return actor, False
        actor = ConferenceActor(factory(uuid.uuid4().hex), self._bus, self._stopped)
        self._actors[room_id] = actor
        actor.start()
        return actor, True

    async def open_placed(
        self, room_id: str, factory: Callable[[str], Conference]
    ) -> tuple[ConferenceActor, bool]:
        """``open``, once this node holds the room's lease; raises ``conference.elsewhere``
        (naming the owner) when another live node runs the room."""
        actor = self.get(room_id)
        if actor is not None:
            return actor, False
        async with self._rooms.hold(room_id):
            actor = self.get(room_id)
            if actor is not None:
                return actor, False
            owner = await self.placement.claim(room_id)
            if owner.node_id != self.placement.this_node.node_id:
                raise elsewhere(owner)
            try:
                return self.open(room_id, factory)
            except BaseException:  # no actor, no lease: nobody would ever release it
                await self.placement.release(room_id)
                raise

    def _stopped(self, actor: ConferenceActor) -> None:
        if self._actors.get(actor.room_id) is actor:
            del self._actors[actor.room_id]
            self._spawn(self._release(actor.room_id))

    async def _release(self, room_id: str) -> None:
        async with self._rooms.hold(room_id):
            if self.get(room_id) is None:  # no newer conference took the room meanwhile
                await self.placement.release(room_id)

    def _lost(self, room_id: str) -> None:
        """Another node may run the room now: end the conference here (``moved``)."""
        actor = self.get(room_id)
        if actor is not None:
            self._spawn(self._end_moved(actor))

    @staticmethod
    async def _end_moved(actor: ConferenceActor) -> None:
        with contextlib.suppress(DomainError):  # ended meanwhile
            await actor.send(c.EndForAll(by_role=Role.MODERATOR, reason=MOVED))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def live_rooms(self) -> list[str]:
        return [room_id for room_id, a in self._actors.items() if a.running]

    async def shutdown(self) -> None:
        await asyncio.gather(*(a.stop() for a in list(self._actors.values())))
        while self._tasks:  # the releases the stops scheduled
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
