"""A media worker: one process, one event loop, one media clock (issue 15 P4).

It runs the conferences the node placed on it (``messages.PlaceRtpLeg``,
``PlacePipeLeg``) with the same ``MediaEngine`` the node runs in one process, and tells
the node what only the media sees: digits, when a phone was last heard and its RTCP
figures, who talks, the tick's lateness. It exits when the node's end of the channel
closes (the node died or stopped it): a worker never outlives its node.

Run as ``python -m confero.media.workers.process FD NICE REALTIME`` (the node does
this; ``priority.py`` says what the last two ask of the kernel).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from confero.media.engine import MediaEngine
from confero.media.leg import RtpAudioLeg
from confero.media.mixer import MixLeg
from confero.media.workers import messages as m
from confero.media.workers.channel import Channel, batches
from confero.media.workers.pipe_leg import PipeLeg
from confero.media.workers.priority import Priority
from confero.media.workers.remote import perform

log = logging.getLogger(__name__)

#: Ticks between reports of the clock and of what the phones did (0.5 s).
REPORT_EVERY = 25
#: Ticks between looks at who talks (the pages' indicator polls every 250 ms).
TALKING_EVERY = 10
_MIX_SETTINGS = frozenset({"muted", "gain", "listening", "overlay_only"})


class _WorkerEngine(MediaEngine):
    def idle(self) -> bool:
        """No legs: the worker sleeps until its next leg, nothing counted."""
        return self.leg_count() == 0


class Worker:
    def __init__(self, sock: socket.socket) -> None:
        self.engine: MediaEngine = _WorkerEngine()
        self.stopped = asyncio.Event()
        self.channel = Channel(sock, self.on_message, self.stopped.set)
        self._legs: dict[str, RtpAudioLeg] = {}
        self._pipes: dict[str, PipeLeg] = {}
        self._mixes: dict[str, MixLeg] = {}
        self._rooms: dict[str, str] = {}  # leg id -> room
        self._recorded: dict[str, Callable[[Any], None]] = {}
        self._talking: dict[str, frozenset[str]] = {}
        self._out: list[tuple[str, bytes, bool]] = []
        self._samples: list[tuple[float, float]] = []
        self._reported = 0
        #: legs whose sockets are being adopted -> what came for them meanwhile
        self._adopting: dict[str, list[Any]] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self.engine.on_tick = self._ticked

    # ---------------------------------------------------------------- messages
    def on_message(self, message: Any, fds: list[int]) -> None:
        waiting = self._adopting.get(getattr(message, "leg_id", ""))
        if waiting is not None:  # in order, once the leg is there
            waiting.append(message)
            return
        match message:
            case m.Frames(frames=frames):
                for leg_id, frame in frames:
                    pipe = self._pipes.get(leg_id)
                    if pipe is not None:
                        pipe.give(frame)
            case m.SetMix(leg_id=leg_id, name=name, value=value) if name in _MIX_SETTINGS:
                mix = self._mixes.get(leg_id)
                if mix is not None:
                    setattr(mix, name, value)
            case m.Overlay(leg_id=leg_id, samples=samples, clear=clear):
                mix = self._mixes.get(leg_id)
                if mix is not None:
                    if clear:
                        mix.overlay.clear()
                    mix.overlay.add(np.frombuffer(samples, dtype=np.int16))
            case m.CallLeg(leg_id=leg_id):
                leg = self._legs.get(leg_id)
                if leg is not None:
                    perform(message, leg)
            case m.PlaceRtpLeg(state=state):
                self._adopting[state.leg_id] = []
                task = asyncio.ensure_future(self._adopt(message, fds))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
            case m.PlacePipeLeg(room=room, leg_id=leg_id, codec=codec):
                pipe = self._pipes[leg_id] = PipeLeg(leg_id, codec, self._out)
                self._place(room, pipe, message.listening, message.owner)
            case m.MoveLeg(leg_id=leg_id, source=source, room=room) if leg_id in self._legs:
                self._unplace(source, leg_id)
                self._place(room, self._legs[leg_id], message.listening, message.owner)
            case m.Release(leg_id=leg_id, room=room) if leg_id in self._legs:
                self._release(room, leg_id)
            case m.Tap(leg_id=leg_id, on=on):
                self.engine.tap(leg_id, self._tapped(leg_id) if on else None)
            case m.RemoveLeg(room=room, leg_id=leg_id):
                self._remove(room, leg_id)
            case m.Record(room=room, on=on):
                self._record(room, on)
            case m.Stop():
                self.stopped.set()
            case _:
                log.warning("media worker: unknown message %r", type(message).__name__)
        for fd in fds:  # none expected but with a leg
            os.close(fd)

    async def _adopt(self, message: m.PlaceRtpLeg, fds: list[int]) -> None:
        try:
            leg = await RtpAudioLeg.adopt(message.state, fds)
        except OSError:
            log.exception("media worker: leg %s could not be adopted", message.state.leg_id)
            self._adopting.pop(message.state.leg_id, None)
            return
        leg_id = leg.id

        def digit(d: str) -> None:
            self.channel.send(m.Digit(leg_id, d))

        def reception(loss: float, jitter: float) -> None:
            self.channel.send(m.Reception(leg_id, loss, jitter))

        leg.on_digit = digit
        leg.observe_reception(reception)
        self._legs[leg.id] = leg
        self._place(message.room, leg, message.listening, message.owner)
        for waited in self._adopting.pop(leg.id, []):
            self.on_message(waited, [])

    def _place(self, room: str, leg: Any, listening: bool, owner: str | None) -> None:
        self._mixes[leg.id] = self.engine.add_leg(room, leg, listening=listening, owner=owner)
        self._rooms[leg.id] = room
        if room in self._recorded:
            self.engine.add_recorder(room, self._recorded[room])

    def _unplace(self, room: str, leg_id: str) -> None:
        """Out of ``room``'s mix (its tap too); the leg itself is still ours."""
        self.engine.remove_leg(room, leg_id)
        self._mixes.pop(leg_id, None)
        self._rooms.pop(leg_id, None)
        if room not in self._rooms.values():
            self._talking.pop(room, None)
        if not self._rooms:  # idle from now on: the node's last word of its clock
            self.engine.stats.lag = 0.0  # nothing lags (admission sheds on the lag)
            self._report()

    def _remove(self, room: str, leg_id: str) -> None:
        self._unplace(room, leg_id)
        self._pipes.pop(leg_id, None)
        leg = self._legs.pop(leg_id, None)
        if leg is not None:
            leg.on_digit = None
            leg.close()  # with its RTCP BYE (RFC 3550 6.6)

    def _release(self, room: str, leg_id: str) -> None:
        """The leg's sockets and state back to the node, which hands them on: no RTCP
        BYE, the call goes on."""
        self._unplace(room, leg_id)
        leg = self._legs.pop(leg_id)
        leg.on_digit = None
        leg.observe_reception(None)
        state, fds = leg.hand_over()
        self.channel.send(m.Released(state), fds)
        leg.let_go()

    def _tapped(self, leg_id: str) -> Callable[[Any], None]:
        def feed(frame: Any) -> None:
            self.channel.send(m.Tapped(leg_id, frame.astype(np.int16).tobytes()))

        return feed

    def _record(self, room: str, on: bool) -> None:
        feed = self._recorded.pop(room, None)
        if feed is not None:
            self.engine.remove_recorder(room, feed)
        if on:
            feed = self._recorded[room] = self._voices(room)
            self.engine.add_recorder(room, feed)

    def _voices(self, room: str) -> Callable[[Any], None]:
        def feed(frame: Any) -> None:
            self.channel.send(m.Voices(room, frame.astype(np.int16).tobytes()))

        return feed

    # ---------------------------------------------------------------- per tick
    def _ticked(self, late: float, took: float) -> None:
        self._samples.append((late, took))
        if self._out:
            self._send_out()
        ticks = self.engine.stats.ticks
        if ticks % TALKING_EVERY == 0:
            self._tell_talking()
        if ticks - self._reported >= REPORT_EVERY:
            self._reported = ticks
            self._report()

    def _send_out(self) -> None:
        for batch in batches(self._out, lambda item: len(item[1]) + 32):
            self.channel.send(m.Sent(tuple(batch)))
        self._out.clear()

    def _report(self) -> None:
        stats = self.engine.stats
        self.channel.send(
            m.Clock(
                stats.ticks,
                stats.late,
                stats.late_20ms,
                stats.max_late,
                stats.busy,
                stats.lag,
                self.engine.leg_count(),
                tuple(self._samples),
                stats.late_waited,
                stats.late_own_work,
                stats.late_other,
            )
        )
        self._samples.clear()
        if self._legs:
            heard = tuple((i, leg.last_heard, leg.quality()) for i, leg in self._legs.items())
            for start in range(0, len(heard), 100):
                self.channel.send(m.Heard(heard[start : start + 100]))

    def _tell_talking(self) -> None:
        for room in set(self._rooms.values()):
            now = self.engine.talking(room)
            if now != self._talking.get(room):
                self._talking[room] = now
                self.channel.send(m.Talking(room, now))

    async def run(self) -> None:
        self.engine.start()
        gc.collect()
        gc.freeze()  # the start-up's objects: no collection walks them again (issue 14)
        self.channel.send(m.Ready())
        await self.stopped.wait()
        for leg_id, room in list(self._rooms.items()):
            self._remove(room, leg_id)
        await self.engine.stop()
        self.channel.close()


async def _main(fd: int) -> None:
    worker = Worker(socket.socket(fileno=fd))
    await worker.run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    import uvloop

    Priority.parse(sys.argv[2:]).apply()
    uvloop.run(_main(int(sys.argv[1])))


if __name__ == "__main__":
    main()
