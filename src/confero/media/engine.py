"""The media clock: every 20 ms, for every conference on this node, pull one frame per
leg, mix, and send (house rule 5).

Shared mixes are encoded once per codec and handed to every leg that hears them, so a
room of listeners costs one resample and one encode per codec, not one per listener
(except G.722, whose decoders cannot switch streams: issue 13). The tick keeps to a
fixed schedule (no drift from sleep jitter); ticks that start more than 5 ms late are
counted, the measure ``make bench`` reports.

A leg is added with the participant it carries (``add_leg(..., owner=...)``: the
talking indicator names people, not legs) and may be tapped (``tap``: a caller's name
is recorded from its incoming audio). Both belong to the leg and go with
``remove_leg``; the engine keeps them private, so no adapter writes another's.

Issue 18: ``on_tick`` (the node's metrics) hears each tick's lateness and duration,
once per tick, never per leg or packet; ``running`` tells the readiness probe the clock
still ticks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from confero.media.lateness import Cause, Lateness
from confero.media.leg import SharedEncoder
from confero.media.mixer import NARROW, RATE, Mixer, MixLeg
from confero.media.opus import OpusCodec, OpusEncoder
from confero.media.phone_codecs import PHONE_CODECS, PhoneCodec
from confero.media.resample import Resampler

Frame = npt.NDArray[np.int16]
TICK = 0.020
LATE = 0.005
VERY_LATE = 0.020
#: Weight of one tick in ``TickStats.lag`` (about a second of ticks)
LAG_WEIGHT = 0.02
#: The most one tick adds to ``TickStats.lag``: a single pause (a full collection, the
#: start-up, a debugger) is not load, and must not shed the next calls for a second;
#: lateness that lasts still takes the lag past any threshold below this.
LAG_CAP = 0.05


#: A phone leg's codec (G.711, G.722, Opus for SIP) or a browser's Opus.
Codec = PhoneCodec | OpusCodec
#: Codecs whose listeners always get their own stream, even of the shared mix: a decoder
#: switched between two encoders of them bursts (G.722; ``media.phone_codecs``).
_OWN_STREAM = frozenset(c.name for c in PHONE_CODECS.values() if not c.shareable)


class Encoder(Protocol):
    def encode(self, frame: Frame) -> bytes: ...


def shared_encoder(codec: Codec, mix_rate: int = RATE) -> Encoder:
    """One encoder for everyone who hears the same mix in this codec.

    Opus keeps state: the caller keeps one encoder per (mix, codec name) from tick to
    tick, and a listener who joins the stream later decodes it from there. G.722 is not
    shared at all (``_OWN_STREAM``)."""
    if isinstance(codec, OpusCodec):
        return OpusEncoder(codec)
    return SharedEncoder(codec, mix_rate)


#: Ticks between checks of a room's rate against its legs' codecs (a leg may change
#: codec after it joined: the answer to a dial-out offer, a re-INVITE).
RETUNE_EVERY = 50


class AudioLeg(Protocol):
    id: str

    @property
    def codec(self) -> Codec: ...

    def pull(self, now: float | None = None) -> Frame | None: ...
    def send_frame(self, frame: Frame) -> None: ...
    def send_encoded(self, payload: bytes) -> None: ...


@dataclass
class TickStats:
    ticks: int = 0
    late: int = 0
    #: late by more than 20 ms: a listener may hear it (the soak's bound, issue 14)
    late_20ms: int = 0
    #: the late > 20 ms ticks by their likeliest cause (``lateness.py``)
    late_waited: int = 0
    late_own_work: int = 0
    late_other: int = 0
    max_late: float = 0.0
    busy: float = 0.0
    #: How late ticks start, averaged over about the last second (seconds): the event
    #: loop's lag, which SIP admission sheds new calls on (issue 14's soak: past the
    #: core's capacity everything queues, database sessions time out and calls fail).
    lag: float = 0.0


def _narrowband(leg: AudioLeg) -> bool:
    """Whether ``leg`` can be mixed at 8 kHz without losing anything: a phone leg
    (one with ``set_mix_rate``) whose codec carries 8 kHz audio (G.711). Browsers,
    G.722 and Opus are wideband."""
    codec = leg.codec
    return hasattr(leg, "set_mix_rate") and getattr(codec, "sample_rate", RATE) == NARROW


@dataclass
class _Room:
    mixer: Mixer = field(default_factory=Mixer)
    legs: dict[str, AudioLeg] = field(default_factory=dict)
    encoders: dict[tuple[Hashable, str], Encoder] = field(default_factory=dict)

    def retune(self) -> None:
        """Mix at 8 kHz while every leg is narrowband (issue 15 P1: nothing is
        resampled), at 48 kHz as soon as one is not."""
        rate = NARROW if all(_narrowband(leg) for leg in self.legs.values()) else RATE
        if rate == self.mixer.rate:
            return
        self.mixer.set_rate(rate)
        self.encoders.clear()  # their resamplers were for the old rate
        for leg in self.legs.values():
            set_rate = getattr(leg, "set_mix_rate", None)
            if set_rate is not None:
                set_rate(rate)


class MediaEngine:
    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}
        self.stats = TickStats()
        self._task: asyncio.Task[None] | None = None
        #: leg id -> who wants that leg's incoming audio (recording a caller's name)
        self._taps: dict[str, Callable[[Frame], None]] = {}
        #: leg id -> the participant it carries
        self._owners: dict[str, str] = {}
        #: leg id -> brings a tapped leg's frames up to 48 kHz in a narrowband room
        self._tap_up: dict[str, Resampler] = {}
        #: Hears (lateness, duration) of every tick in seconds (issue 18's histograms).
        self.on_tick: Callable[[float, float], None] | None = None
        #: Set by a leg's coming: an idle engine sleeps on it, not at 50 Hz.
        self._woken = asyncio.Event()

    def add_leg(
        self, room_id: str, leg: AudioLeg, *, listening: bool = True, owner: str | None = None
    ) -> MixLeg:
        """``leg`` in ``room_id``'s mix; ``owner`` is the participant it carries (none
        while a caller is still in the voice menu)."""
        self._woken.set()
        room = self._rooms.setdefault(room_id, _Room())
        room.legs[leg.id] = leg
        if owner is not None:
            self._owners[leg.id] = owner
        set_rate = getattr(leg, "set_mix_rate", None)
        if set_rate is not None:
            set_rate(room.mixer.rate)
        room.retune()
        return room.mixer.add_leg(leg.id, listening=listening)

    def remove_leg(self, room_id: str, leg_id: str) -> None:
        """The leg leaves the room's mix, with its owner and its tap."""
        self._owners.pop(leg_id, None)
        self._taps.pop(leg_id, None)
        self._tap_up.pop(leg_id, None)
        room = self._rooms.get(room_id)
        if room is None:
            return
        room.legs.pop(leg_id, None)
        room.mixer.remove_leg(leg_id)
        if not room.legs:
            del self._rooms[room_id]
        else:
            room.retune()

    def move_leg(
        self, leg: AudioLeg, source: str, room_id: str, *, listening: bool, owner: str | None
    ) -> MixLeg:
        """``leg`` leaves ``source``'s mix for ``room_id``'s (a caller leaves the voice
        menu): one call, so media workers can keep its sockets where they are."""
        self.remove_leg(source, leg.id)
        return self.add_leg(room_id, leg, listening=listening, owner=owner)

    async def reclaim(self, leg: AudioLeg) -> AudioLeg:
        """The leg with its sockets in this process (here they always are; media
        workers give them back)."""
        return leg

    def idle(self) -> bool:
        """Whether a tick would do nothing anyone waits for (then it is not counted)."""
        return False

    def tap(self, leg_id: str, receiver: Callable[[Frame], None] | None) -> None:
        """Hand every incoming frame of ``leg_id`` to ``receiver`` (None: stop)."""
        self._tap_up.pop(leg_id, None)
        if receiver is None:
            self._taps.pop(leg_id, None)
        else:
            self._taps[leg_id] = receiver

    def add_recorder(self, room_id: str, feed: Callable[[Frame], None]) -> bool:
        """Hand the room's voices to ``feed`` every tick (it must not block: see
        media/recorder.py). False when the room has no mix (nobody's audio is in it)."""
        room = self._rooms.get(room_id)
        if room is None:
            return False
        if feed not in room.mixer.recorders:
            room.mixer.recorders.append(feed)
        return True

    def remove_recorder(self, room_id: str, feed: Callable[[Frame], None]) -> None:
        room = self._rooms.get(room_id)
        if room is not None and feed in room.mixer.recorders:
            room.mixer.recorders.remove(feed)

    def talking(self, room_id: str) -> frozenset[str]:
        """Who is talking in the room now: owners, or leg ids for legs without one."""
        room = self._rooms.get(room_id)
        if room is None:
            return frozenset()
        return frozenset(self._owners.get(leg, leg) for leg in room.mixer.talking())

    def mixer(self, room_id: str) -> Mixer | None:
        room = self._rooms.get(room_id)
        return room.mixer if room else None

    def leg_count(self) -> int:
        return sum(len(r.legs) for r in self._rooms.values())

    def legs_in(self, room_id: str) -> frozenset[str]:
        """The ids of the legs in ``room_id``'s mix."""
        room = self._rooms.get(room_id)
        return frozenset(room.legs) if room is not None else frozenset()

    @property
    def clock(self) -> TickStats:
        """How the node's media keeps time (``app.ports.MediaClock``); with media
        workers, theirs too (``media.workers.pool.NodeClock``)."""
        return self.stats

    def handed_over(self, leg: AudioLeg) -> AudioLeg:
        """The object that drives ``leg`` since it was added: itself here; a proxy when
        its sockets went to a media worker (issue 15 P4)."""
        return leg

    def _tap(self, room: _Room, inputs: dict[str, Frame | None]) -> None:
        """Hand tapped legs' frames to their receivers, always at 48 kHz."""
        for leg_id, frame in inputs.items():
            tap = self._taps.get(leg_id)
            if tap is None or frame is None:
                continue
            if room.mixer.rate != RATE:
                up = self._tap_up.get(leg_id)
                if up is None:
                    up = self._tap_up[leg_id] = Resampler(room.mixer.rate, RATE)
                frame = up.process(frame)
            tap(frame)

    def tick(self, now: float) -> None:
        retune = self.stats.ticks % RETUNE_EVERY == 0
        for room in list(self._rooms.values()):
            if retune:
                room.retune()
            inputs = {leg_id: leg.pull(now) for leg_id, leg in room.legs.items()}
            if self._taps:
                self._tap(room, inputs)
            used: set[tuple[Hashable, str]] = set()
            for group in room.mixer.tick(inputs):
                if not group.shared:
                    for leg_id in group.legs:
                        room.legs[leg_id].send_frame(group.frame)
                    continue
                payloads: dict[str, bytes] = {}
                for leg_id in group.legs:
                    leg = room.legs[leg_id]
                    name = leg.codec.name
                    if name not in payloads:
                        if name in _OWN_STREAM:  # (no payload is kept for these)
                            leg.send_frame(group.frame)
                            continue
                        key = (group.key, name)
                        encoder = room.encoders.get(key)
                        if encoder is None:
                            encoder = room.encoders[key] = shared_encoder(
                                leg.codec, room.mixer.rate
                            )
                        used.add(key)
                        payloads[name] = encoder.encode(group.frame)
                    if payloads[name]:
                        leg.send_encoded(payloads[name])
            for key in set(room.encoders) - used:
                del room.encoders[key]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        lateness = Lateness()
        try:
            await self._run(loop, due, lateness)
        finally:
            lateness.close()

    async def _run(self, loop: asyncio.AbstractEventLoop, due: float, lateness: Lateness) -> None:
        while True:
            due += TICK
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            slept = delay > 0
            now = loop.time()
            late = now - due
            if self.idle():  # nothing to mix: not counted, never late
                await self._sleep_while_idle()
                due = loop.time()
                continue
            if late > 0.2:  # stalled (debugger, overload): skip ahead
                due = now
            self.stats.ticks += 1
            ran, waited = lateness.mark()
            if late > LATE:
                self.stats.late += 1
            if late > VERY_LATE:
                self.stats.late_20ms += 1
                self._count_cause(lateness.cause(late, ran, waited, slept=slept))
            else:
                lateness.on_time()
            self.stats.max_late = max(self.stats.max_late, late)
            self.stats.lag += (min(late, LAG_CAP) - self.stats.lag) * LAG_WEIGHT
            started = time.perf_counter()
            self.tick(time.monotonic())
            took = time.perf_counter() - started
            self.stats.busy += took
            if self.on_tick is not None:
                self.on_tick(late, took)

    async def _sleep_while_idle(self) -> None:
        """No wake-ups at 50 Hz with nothing to mix (an idle media worker, a node whose
        rooms are all in workers): until a leg comes (``add_leg``)."""
        self.stats.lag = 0.0  # no tick is late: admission must not shed on an old lag
        self._woken.clear()
        if self.idle():
            await self._woken.wait()

    def _count_cause(self, cause: Cause) -> None:
        if cause is Cause.WAITED:
            self.stats.late_waited += 1
        elif cause is Cause.OWN_WORK:
            self.stats.late_own_work += 1
        else:
            self.stats.late_other += 1

    @property
    def running(self) -> bool:
        """The tick task runs (started, not stopped, not crashed)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="media-engine")

    async def wait_ready(self) -> None:
        """Until the media can take legs (at once here; media workers start up)."""

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
