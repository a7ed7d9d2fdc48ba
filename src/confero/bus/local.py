"""The in-process bus of the one-process profile (F-SC1): the conference actors' outbox.

The actor never awaits I/O (house rule 2): it ``emit``s the events of a command and
answers at once. Who receives them, and how:

- **fast** subscribers (``subscribe``): in-memory reactions only, such as the pages'
  socket queues, the phone calls' mailboxes, spawning a dial-out. A plain function is
  called inside ``emit``, in subscription order, so an event is on its way to pages and
  calls before the command's answer reaches the sender. An ``async`` handler's coroutine
  goes to a mailbox of its own (``put_nowait``), which one task runs in order. Neither
  kind may await I/O; one that fails is logged, and the others still get the event.
- **durable** consumers (``subscribe_durable``): the ones that write to the database
  (activity log, room-state projection). Every room has an ordered stream, run by one
  task while it holds events. It hands event *n* to every durable consumer, in
  subscription order, before event *n + 1* goes to any of them. A reset relies on this:
  the log writes ``conference_ended`` before the projection deletes the log. Delivery is
  at least once. A consumer that raises gets the same event again (``retries`` tries,
  with backoff). After that the failure is logged and the consumer moves on. The actor
  and the fast subscribers never wait for a durable consumer. A slow or failing one
  delays only the durable consumers of its own room.
- ``drain(room_id)`` returns once the room's durable consumers have handled every event
  appended before the call. ``ConferenceService`` drains when a conference ends (the next
  one reads the stored lock) and for REST callers (read-your-writes). ``drain()`` waits
  for every room, and for the async mailboxes: at shutdown nothing is lost. Draining from
  inside a durable consumer would wait for itself, so it is refused.

A Redis bus keeps these semantics: ``emit`` appends to a local outbox that one task
writes to a stream per room (XADD). Fast subscribers read pub/sub. The durable consumers
of a node form one consumer group that reads the streams in order and acknowledges an
event once every consumer has handled it; the pending list redelivers what a crashed node
did not acknowledge.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from confero.app.ports import DurableHandler, EventHandler
from confero.domain.events import Event

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Mailbox:
    """An async fast handler's queue of coroutines, run in order by one task."""

    handler: EventHandler
    pending: deque[Awaitable[None]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


@dataclass(eq=False)
class _Consumer:
    name: str
    handler: DurableHandler


@dataclass(eq=False)
class _Stream:
    """One room's events not yet handled by every durable consumer."""

    pending: deque[Event] = field(default_factory=deque)
    appended: int = 0
    done: int = 0
    task: asyncio.Task[None] | None = None
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


class LocalBus:
    def __init__(self, *, retries: int = 3, backoff: float = 0.05) -> None:
        assert retries >= 1
        self._fast: list[_Mailbox] = []
        self._durable: list[_Consumer] = []
        self._streams: dict[str, _Stream] = {}
        self._retries = retries
        self._backoff = backoff

    # ------------------------------------------------------------ publishing
    def emit(self, events: Iterable[Event]) -> None:
        for event in events:
            for mailbox in list(self._fast):
                self._hand(mailbox, event)
            if self._durable:
                self._append(event)

    async def publish(self, event: Event) -> None:
        self.emit((event,))

    # ----------------------------------------------------------- subscribing
    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        mailbox = _Mailbox(handler)
        self._fast.append(mailbox)

        def unsubscribe() -> None:
            if mailbox in self._fast:
                self._fast.remove(mailbox)

        return unsubscribe

    def subscribe_durable(self, name: str, handler: DurableHandler) -> Callable[[], None]:
        consumer = _Consumer(name, handler)
        self._durable.append(consumer)

        def unsubscribe() -> None:
            if consumer in self._durable:
                self._durable.remove(consumer)

        return unsubscribe

    # ------------------------------------------------------------- draining
    async def drain(self, room_id: str | None = None) -> None:
        if room_id is None:
            streams = list(self._streams.values())
        else:
            streams = [self._streams[room_id]] if room_id in self._streams else []
        for stream in streams:
            if stream.done >= stream.appended or stream.task is None:
                continue  # handled, or its task was cancelled at a hard stop
            if stream.task is asyncio.current_task():
                raise RuntimeError("a durable consumer cannot wait for its own stream")
            waiter = asyncio.get_running_loop().create_future()
            stream.waiters.append((stream.appended, waiter))
            await waiter
        if room_id is None:
            tasks = [m.task for m in self._fast if m.task is not None]
            tasks = [t for t in tasks if t is not asyncio.current_task()]
            await asyncio.gather(*tasks, return_exceptions=True)
            if any(s.task is not None for s in self._streams.values()):
                await self.drain()  # consumers published more meanwhile

    # ------------------------------------------------------------------ fast
    def _hand(self, mailbox: _Mailbox, event: Event) -> None:
        try:
            result = mailbox.handler(event)
        except Exception:
            log.exception("event handler failed for %s", event.name)
            return
        if inspect.isawaitable(result):
            mailbox.pending.append(result)
            if mailbox.task is None:
                mailbox.task = asyncio.create_task(self._run_mailbox(mailbox))

    @staticmethod
    async def _run_mailbox(mailbox: _Mailbox) -> None:
        try:
            while mailbox.pending:
                try:
                    await mailbox.pending.popleft()
                except Exception:
                    log.exception("event handler failed")
        finally:
            mailbox.task = None

    # --------------------------------------------------------------- durable
    def _append(self, event: Event) -> None:
        stream = self._streams.get(event.room_id)
        if stream is None:
            stream = self._streams[event.room_id] = _Stream()
        stream.pending.append(event)
        stream.appended += 1
        if stream.task is None:
            stream.task = asyncio.create_task(
                self._run_stream(event.room_id, stream), name=f"bus-{event.room_id}"
            )

    async def _run_stream(self, room_id: str, stream: _Stream) -> None:
        try:
            while stream.pending:
                event = stream.pending[0]
                for consumer in list(self._durable):
                    if consumer in self._durable:
                        await self._deliver(consumer, event)
                stream.pending.popleft()
                stream.done += 1
                self._wake(stream, everyone=False)
        finally:
            stream.task = None
            self._wake(stream, everyone=True)
            if not stream.pending and self._streams.get(room_id) is stream:
                del self._streams[room_id]

    @staticmethod
    def _wake(stream: _Stream, *, everyone: bool) -> None:
        """Waiters whose events are handled; all of them when the stream's task ends
        (cancelled at a hard stop: nobody waits for what will not come)."""
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, waiter in stream.waiters:
            if everyone or target <= stream.done:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                keep.append((target, waiter))
        stream.waiters = keep

    async def _deliver(self, consumer: _Consumer, event: Event) -> None:
        for attempt in range(1, self._retries + 1):
            try:
                await consumer.handler(event)
                return
            except Exception:
                if attempt == self._retries:
                    log.exception(
                        "durable consumer %s gave up on %s after %d tries",
                        consumer.name,
                        event.name,
                        attempt,
                    )
                    return
                log.warning("durable consumer %s failed on %s; again", consumer.name, event.name)
                await asyncio.sleep(self._backoff * attempt)
