"""The node's media across worker processes (issue 15 P4): ``NodeMedia`` is the node's
``MediaEngine`` and places each conference's mix on one of ``CONFERO_MEDIA_WORKERS``
workers (the one with the fewest legs when the room's first leg comes). A caller's
leg goes to a worker as the call starts: the voice menu's one-leg room is mixed there
too, so the node's loop is left to signalling. When the caller enters its conference
the leg stays on its worker where the room is new or already there (``move_leg``), or
its sockets go back through the node to the room's worker. A relay to another node
(issue 16) takes the sockets back for good (``reclaim``).

The callers do not change: ``add_leg`` still answers a mix to set (``remote.RemoteMix``),
and ``handed_over`` tells a phone call which object drives its leg now
(``remote.RemoteRtpLeg``). A browser's leg stays here and is pumped: its frame goes to
the worker at this node's tick, the mix comes back after the worker's
(``pipe_leg.py``).

A worker that dies is replaced at once. Its phone legs died with it (their sockets were
there: each call hangs up at its next media check); its rooms' browser legs, whose
audio is here, are placed again on the new worker with their settings, so a page hears
its room again a tick later. Left out for now: moving a room between workers as the
load moves (a room stays on its worker while it has legs).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from confero.app.ports import clock_counters
from confero.media.engine import AudioLeg, Frame, MediaEngine
from confero.media.leg import RtpAudioLeg
from confero.media.mixer import MixLeg
from confero.media.workers import messages as m
from confero.media.workers.channel import Channel, batches, pair
from confero.media.workers.priority import Priority
from confero.media.workers.remote import RemoteMix, RemoteRtpLeg, perform

log = logging.getLogger(__name__)

#: Seconds a worker gets to start (Python, numpy, the codecs).
START_TIMEOUT = 30.0
#: Seconds a stopping worker gets before it is killed.
STOP_GRACE = 5.0


@dataclass(eq=False)
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    channel: Channel | None = None
    legs: int = 0
    alive: bool = True
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    clock: m.Clock = field(default_factory=lambda: m.Clock(0, 0, 0, 0.0, 0.0, 0.0, 0, ()))

    def send(self, message: Any, fds: list[int] | None = None) -> None:
        if self.channel is not None:
            self.channel.send(message, fds)


def _nowhere(message: Any) -> None:
    """Where a dead leg's messages go (its sockets died with their worker)."""


@dataclass(eq=False)
class _Route:
    """Where a phone leg's messages go: its worker, or held while its sockets move to
    another (``NodeMedia.move_leg``) and sent there, in order, once they arrived."""

    worker: _Worker | None
    held: list[Any] = field(default_factory=list)
    #: its sockets died with their worker: what the call still asks goes nowhere
    dead: bool = False

    def send(self, message: Any) -> None:
        if self.dead:
            return
        if self.worker is None:
            self.held.append(message)
        else:
            self.worker.send(message)

    def arrive(self, worker: _Worker) -> None:
        assert not self.dead, "a dead leg's sockets arrive nowhere"
        self.worker = worker
        for message in self.held:
            worker.send(message)
        self.held.clear()


@dataclass(eq=False)
class _Pipe:
    """A leg that stays here (a browser's), mixed in its route's worker: what it takes to
    place it again on another worker (``NodeMedia._died``)."""

    route: _Route
    leg: AudioLeg
    place: m.PlacePipeLeg
    mix: RemoteMix


@dataclass(eq=False)
class _Move:
    """A phone leg released by ``source``, bound for ``target``'s ``room`` (or for the
    node: ``back``)."""

    route: _Route
    source: _Worker
    target: _Worker | None
    #: what ``target`` is sent with the sockets (its ``state`` filled in then)
    place: m.PlaceRtpLeg | None = None
    back: asyncio.Future[tuple[Any, list[int]]] | None = None


class NodeClock:
    """The node's tick figures (``app.ports.MediaClock``): its own and every worker's,
    counted together; the lag is the worst one (SIP admission sheds on it)."""

    def __init__(self, media: NodeMedia) -> None:
        self._media = media

    def _all(self) -> list[Any]:
        return [self._media.stats, *(w.clock for w in self._media.workers)]

    ticks = property(lambda self: sum(c.ticks for c in self._all()))
    late = property(lambda self: sum(c.late for c in self._all()))
    late_20ms = property(lambda self: sum(c.late_20ms for c in self._all()))
    late_waited = property(lambda self: sum(c.late_waited for c in self._all()))
    late_own_work = property(lambda self: sum(c.late_own_work for c in self._all()))
    late_other = property(lambda self: sum(c.late_other for c in self._all()))
    max_late = property(lambda self: max(c.max_late for c in self._all()))
    busy = property(lambda self: sum(c.busy for c in self._all()))
    lag = property(lambda self: max(c.lag for c in self._all()))

    def parts(self) -> list[dict[str, object]]:
        """Each clock's counters: the node's (its voice menu), then each worker's."""
        names = ["node", *(f"worker {w.index + 1}" for w in self._media.workers)]
        return [
            {"clock": name, **clock_counters(c)} for name, c in zip(names, self._all(), strict=True)
        ]


class NodeMedia(MediaEngine):
    def __init__(self, workers: int, priority: Priority = Priority()) -> None:
        super().__init__()
        assert workers > 0, "with no workers the node runs a MediaEngine"
        self._wanted = workers
        #: what the workers ask of the kernel (``CONFERO_MEDIA_NICE``, ``_REALTIME``)
        self._priority = priority
        self.workers: list[_Worker] = []
        self._placed: dict[str, _Worker] = {}  # room -> its worker
        self._room_legs: dict[str, set[str]] = {}  # room in a worker -> its legs
        self._phones: dict[str, RemoteRtpLeg] = {}
        self._pipes: dict[str, _Pipe] = {}
        self._talking_in: dict[str, frozenset[str]] = {}
        self._feeds: dict[str, list[Callable[[Frame], None]]] = {}
        self._routes: dict[str, _Route] = {}  # phone leg in a worker -> its route
        self._moving: dict[str, _Move] = {}
        self._remote_taps: dict[str, Callable[[Frame], None]] = {}
        #: phone legs whose sockets came back (``reclaim``): mixed here from now on
        self._home: set[str] = set()
        #: phone legs whose sockets died with their worker, until their call removes them
        self._dead: set[str] = set()
        self._clock = NodeClock(self)
        #: Phone legs whose sockets went to a worker since the start.
        self.handed = 0
        #: Phone legs whose sockets moved from one worker to another.
        self.moved = 0

    @property
    def clock(self) -> Any:
        return self._clock

    # ---------------------------------------------------------------- legs
    def add_leg(
        self, room_id: str, leg: AudioLeg, *, listening: bool = True, owner: str | None = None
    ) -> MixLeg:
        if leg.id in self._home:
            return super().add_leg(room_id, leg, listening=listening, owner=owner)
        self._woken.set()  # a browser's frames are pumped by this node's tick
        worker = self._worker_for(room_id)
        self._count(room_id, leg.id, worker)
        send: Callable[[Any], None] = worker.send
        if isinstance(leg, RtpAudioLeg):
            state, fds = leg.hand_over()
            worker.send(m.PlaceRtpLeg(room_id, state, listening, owner), fds)
            observer, on_digit = leg.reception_observer, leg.on_digit
            leg.let_go()
            route = self._routes[leg.id] = _Route(worker)
            send = route.send
            proxy = RemoteRtpLeg(state, room_id, send)
            proxy.on_digit = on_digit
            proxy.observe_reception(observer)
            self._phones[leg.id] = proxy
            self.handed += 1
        else:
            route = _Route(worker)
            place = m.PlacePipeLeg(room_id, leg.id, leg.codec, listening, owner)
            worker.send(place)
            mix = RemoteMix(leg.id, route.send, listening=listening)
            self._pipes[leg.id] = _Pipe(route, leg, place, mix)
            return cast(MixLeg, mix)
        return cast(MixLeg, RemoteMix(leg.id, send, listening=listening))

    def handed_over(self, leg: Any) -> Any:
        return self._phones.get(leg.id, leg)

    def move_leg(
        self, leg: Any, source: str, room_id: str, *, listening: bool, owner: str | None
    ) -> MixLeg:
        """A caller leaves the voice menu for its room: where the room is new or on the
        same worker the leg stays (``MoveLeg``); else its sockets go back and on to the
        room's worker (``Release``, then ``PlaceRtpLeg``), its messages held meanwhile."""
        if leg.id in self._dead:  # its call ends at the next media check
            return cast(MixLeg, RemoteMix(leg.id, _nowhere, listening=listening))
        proxy = self._phones.get(leg.id)
        if proxy is None:  # its sockets are here
            return super().move_leg(leg, source, room_id, listening=listening, owner=owner)
        route = self._routes[leg.id]
        here = route.worker
        assert here is not None, "a leg moves once at a time"
        self._uncount(source, leg.id)
        there = self._worker_for(room_id, prefer=here)
        self._count(room_id, leg.id, there)
        proxy.room = room_id
        if there is here:
            route.send(m.MoveLeg(leg.id, source, room_id, listening, owner))
        else:
            route.send(m.Release(leg.id, source))
            route.worker = None
            place = m.PlaceRtpLeg(room_id, None, listening, owner)
            self._moving[leg.id] = _Move(route, here, there, place)
            self.moved += 1
        return cast(MixLeg, RemoteMix(leg.id, route.send, listening=listening))

    async def reclaim(self, leg: Any) -> Any:
        """The leg's sockets back on the node (a relay to another node takes them, issue
        16), mixed here from now on; the proxy as it was if its worker died."""
        proxy = self._phones.get(leg.id)
        route = self._routes.get(leg.id)
        if proxy is None or route is None or route.worker is None:
            return leg
        back: asyncio.Future[tuple[Any, list[int]]] = asyncio.get_running_loop().create_future()
        self._moving[leg.id] = _Move(route, route.worker, None, back=back)
        route.send(m.Release(leg.id, proxy.room))
        route.worker = None
        try:
            state, fds = await back
        except asyncio.CancelledError:
            return leg
        local = await RtpAudioLeg.adopt(state, fds)
        if leg.id not in self._phones:  # the call ended meanwhile
            local.close()
            return leg
        local.on_digit = proxy.on_digit
        local.observe_reception(proxy.on_reception)
        for held in route.held:  # what the call asked of the leg on its way back
            if isinstance(held, m.CallLeg):
                perform(held, local)
        route.held.clear()
        self._uncount(proxy.room, leg.id)
        del self._phones[leg.id], self._routes[leg.id]
        self._home.add(leg.id)
        return local

    def remove_leg(self, room_id: str, leg_id: str) -> None:
        if leg_id in self._dead:
            self._dead.discard(leg_id)
            self._remote_taps.pop(leg_id, None)
            return
        legs = self._room_legs.get(room_id)
        if legs is None:
            self._home.discard(leg_id)
            self._pipes.pop(leg_id, None)
            super().remove_leg(room_id, leg_id)
            return
        worker = self._placed[room_id]
        self._uncount(room_id, leg_id)
        proxy = self._phones.pop(leg_id, None)
        self._routes.pop(leg_id, None)
        if proxy is not None:
            proxy.close()  # the worker closes its sockets
        else:
            worker.send(m.RemoveLeg(room_id, leg_id))
        self._pipes.pop(leg_id, None)
        self._remote_taps.pop(leg_id, None)

    def _count(self, room_id: str, leg_id: str, worker: _Worker) -> None:
        self._room_legs.setdefault(room_id, set()).add(leg_id)
        worker.legs += 1

    def _uncount(self, room_id: str, leg_id: str) -> None:
        legs = self._room_legs.get(room_id)
        if legs is None or leg_id not in legs:
            return
        legs.discard(leg_id)
        self._placed[room_id].legs -= 1
        if not legs:
            del self._room_legs[room_id], self._placed[room_id]
            self._talking_in.pop(room_id, None)

    def _worker_for(self, room_id: str, prefer: _Worker | None = None) -> _Worker:
        worker = self._placed.get(room_id)
        if worker is None:
            alive = [w for w in self.workers if w.alive] or self.workers
            worker = prefer if prefer in alive else min(alive, key=lambda w: w.legs)
            assert worker is not None
            self._placed[room_id] = worker
            if self._feeds.get(room_id):
                worker.send(m.Record(room_id, True))
        return worker

    def tap(self, leg_id: str, receiver: Callable[[Frame], None] | None) -> None:
        route = self._routes.get(leg_id)
        if route is None:
            super().tap(leg_id, receiver)
            return
        if receiver is None:
            self._remote_taps.pop(leg_id, None)
        else:
            self._remote_taps[leg_id] = receiver
        route.send(m.Tap(leg_id, receiver is not None))

    def worker_of(self, room_id: str) -> int | None:
        """The index of the worker that mixes ``room_id`` (None: none does)."""
        worker = self._placed.get(room_id)
        return None if worker is None else worker.index

    def idle(self) -> bool:
        """No leg mixes here and no browser's frames wait to be pumped: the workers
        tick for every room, the node's tick would only count its own lateness."""
        return not self._pipes and not self._rooms

    def talking(self, room_id: str) -> frozenset[str]:
        if room_id in self._room_legs:
            return self._talking_in.get(room_id, frozenset())
        return super().talking(room_id)

    def legs_in(self, room_id: str) -> frozenset[str]:
        if room_id in self._room_legs:
            return frozenset(self._room_legs[room_id])
        return super().legs_in(room_id)

    def leg_count(self) -> int:
        return super().leg_count() + sum(len(legs) for legs in self._room_legs.values())

    # ---------------------------------------------------------------- recording
    def add_recorder(self, room_id: str, feed: Callable[[Frame], None]) -> bool:
        if room_id not in self._room_legs:
            return super().add_recorder(room_id, feed)
        feeds = self._feeds.setdefault(room_id, [])
        if feed not in feeds:
            feeds.append(feed)
            if len(feeds) == 1:
                self._placed[room_id].send(m.Record(room_id, True))
        return True

    def remove_recorder(self, room_id: str, feed: Callable[[Frame], None]) -> None:
        feeds = self._feeds.get(room_id)
        if feeds is None or feed not in feeds:
            super().remove_recorder(room_id, feed)
            return
        feeds.remove(feed)
        if not feeds:
            del self._feeds[room_id]
            worker = self._placed.get(room_id)
            if worker is not None:
                worker.send(m.Record(room_id, False))

    # ---------------------------------------------------------------- per tick
    def tick(self, now: float) -> None:
        if self._pipes:
            self._pump(now)
        super().tick(now)

    def _pump(self, now: float) -> None:
        """This tick's frames of the node's legs in workers' rooms, to their workers."""
        out: dict[_Worker, list[tuple[str, bytes | None]]] = {}
        for leg_id, pipe in self._pipes.items():
            frame = pipe.leg.pull(now)
            if frame is not None and pipe.route.worker is not None:
                out.setdefault(pipe.route.worker, []).append((leg_id, frame.tobytes()))
        for worker, frames in out.items():
            for batch in batches(frames, lambda item: len(item[1] or b"") + 32):
                worker.send(m.Frames(tuple(batch)))

    # ---------------------------------------------------------------- from workers
    def _heard(self, worker: _Worker, message: Any, fds: list[int]) -> None:
        match message:
            case m.Sent(out=out):
                for leg_id, payload, encoded in out:
                    pipe = self._pipes.get(leg_id)
                    if pipe is None:
                        continue
                    if encoded:
                        pipe.leg.send_encoded(payload)
                    else:
                        pipe.leg.send_frame(np.frombuffer(payload, dtype=np.int16))
            case m.Released(state=state):
                self._released(state, fds)
            case m.Tapped(leg_id=leg_id, frame=frame):
                receiver = self._remote_taps.get(leg_id)
                if receiver is not None:
                    receiver(np.frombuffer(frame, dtype=np.int16))
            case m.Digit(leg_id=leg_id, digit=digit):
                proxy = self._phones.get(leg_id)
                if proxy is not None and proxy.on_digit is not None:
                    proxy.on_digit(digit)
            case m.Voices(room=room, frame=frame):
                pcm = np.frombuffer(frame, dtype=np.int16)
                for feed in self._feeds.get(room, ()):
                    feed(pcm)
            case m.Talking(room=room, who=who) if self._placed.get(room) is worker:
                self._talking_in[room] = who
            case m.Heard(legs=legs):
                for leg_id, last_heard, quality in legs:
                    proxy = self._phones.get(leg_id)
                    if proxy is not None:
                        proxy.heard(last_heard, quality)
            case m.Reception(leg_id=leg_id, loss=loss, jitter=jitter):
                proxy = self._phones.get(leg_id)
                if proxy is not None and proxy.on_reception is not None:
                    proxy.on_reception(loss, jitter)
            case m.Ready():
                worker.ready.set()
            case m.Clock(samples=samples):
                worker.clock = message
                if self.on_tick is not None:
                    for late, took in samples:
                        self.on_tick(late, took)
        for fd in fds:  # none are sent this way
            with contextlib.suppress(OSError):
                os.close(fd)

    def _released(self, state: Any, fds: list[int]) -> None:
        move = self._moving.pop(state.leg_id, None)
        if move is None:
            return
        if move.back is not None:  # the node adopts them: its own copies
            if not move.back.done():
                move.back.set_result((state, [os.dup(fd) for fd in fds]))
        elif move.route.dead:  # bound for a room that died with its worker: closed below
            return
        elif move.target is not None and move.place is not None:
            move.target.send(dataclasses.replace(move.place, state=state), fds)
            move.route.arrive(move.target)

    def _died(self, worker: _Worker) -> None:
        """A worker died (killed, crashed): its phone legs died with it (each call hangs
        up at its next media check); a new worker takes its place, and its rooms'
        browser legs with it (``_replace``)."""
        if not worker.alive:
            return  # stopped by us
        worker.alive = False
        for leg_id, move in list(self._moving.items()):
            if move.source is worker:  # its sockets died with it, wherever it was bound
                del self._moving[leg_id]
                if move.back is not None:
                    move.back.cancel()
                proxy = self._phones.get(leg_id)
                if proxy is not None:
                    self._uncount(proxy.room, leg_id)
                    self._bury(leg_id)
        lost: dict[str, list[_Pipe]] = {}
        for room in [room for room, placed in self._placed.items() if placed is worker]:
            del self._placed[room]
            self._talking_in.pop(room, None)
            lost[room] = []
            for leg_id in self._room_legs.pop(room, set()):
                pipe = self._pipes.get(leg_id)
                if pipe is None:
                    self._bury(leg_id)
                else:
                    pipe.route.worker = None  # its frames wait for the successor
                    lost[room].append(pipe)
        log.error("media worker %d died: %d rooms lost their phones", worker.index, len(lost))
        if worker.channel is not None:
            worker.channel.close()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            worker.process.wait(0.1)  # reaped, not a zombie
        if worker in self.workers:
            successor = self._spawn(worker.index)
            self.workers[self.workers.index(worker)] = successor
            for room, pipes in lost.items():
                self._replace(room, pipes, successor)

    def _replace(self, room: str, pipes: list[_Pipe], worker: _Worker) -> None:
        """A room whose worker died goes on in ``worker`` for its browser legs: placed
        with their settings as they are now, and its recording fed again."""
        if not pipes:
            return
        self._placed[room] = worker
        if self._feeds.get(room):
            worker.send(m.Record(room, True))
        for pipe in pipes:
            self._count(room, pipe.leg.id, worker)
            worker.send(pipe.place)
            pipe.route.arrive(worker)  # what was set meanwhile, then every setting
            pipe.mix.replay()

    def _bury(self, leg_id: str) -> None:
        """A phone leg whose sockets died: its call may still move, set or remove it."""
        proxy = self._phones.pop(leg_id, None)
        if proxy is not None:
            proxy.lost = True
        route = self._routes.pop(leg_id, None)
        if route is not None:
            route.dead, route.worker = True, None
            route.held.clear()
            self._dead.add(leg_id)

    # ---------------------------------------------------------------- life
    @property
    def running(self) -> bool:
        return super().running and all(w.alive for w in self.workers)

    def start(self) -> None:
        super().start()
        while len(self.workers) < self._wanted:
            self.workers.append(self._spawn(len(self.workers)))

    async def wait_ready(self) -> None:
        """Until every worker's clock ticks: a leg handed over before would wait in its
        socket's buffer and come out in one burst."""
        async with asyncio.timeout(START_TIMEOUT):
            for worker in self.workers:
                await worker.ready.wait()

    def _spawn(self, index: int) -> _Worker:
        ours, theirs = pair()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "confero.media.workers.process",
                str(theirs.fileno()),
                *self._priority.argv(),
            ],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        worker = _Worker(index, process)
        worker.channel = Channel(
            ours,
            lambda message, fds: self._heard(worker, message, fds),
            lambda: self._died(worker),
        )
        return worker

    async def stop(self) -> None:
        for worker in self.workers:
            worker.alive = False
            worker.send(m.Stop())
        for worker in self.workers:
            try:
                await asyncio.to_thread(worker.process.wait, STOP_GRACE)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                await asyncio.to_thread(worker.process.wait)
            if worker.channel is not None:
                worker.channel.close()
        self.workers.clear()
        await super().stop()


def node_media(workers: int, priority: Priority = Priority()) -> MediaEngine:
    """The node's media: mixed in this process (0) or in ``workers`` processes."""
    return MediaEngine() if workers == 0 else NodeMedia(workers, priority)
