"""The conference mixer: one tick every 20 ms at 48 kHz (house rule 5), or at 8 kHz
while every leg of the room is a narrowband phone (issue 15 P1: an all-G.711 room then
resamples nothing; the engine picks the rate, ``set_rate``).

Each tick takes at most one frame per leg (``None`` when the leg is silent, muted or its
jitter buffer had nothing), sums the speaking frames once, and gives every listener the
sum minus its own frame (mix-minus) times its listening gain. Listeners who did not
speak all hear the same full mix, so it is computed (and later encoded) once per
distinct gain: ``tick`` returns outputs grouped by identical audio, and the leg layer
encodes each group once per codec.

Audio meant for one leg (a prompt, the ``#`` menu) is added to that leg's output only;
audio for the whole room (an entry announcement) is added to every output. Neither
stops the mix. A recorder hook receives the voices of every tick (no prompts).

Whatever the room's rate, everything outside the mixer speaks 48 kHz: overlays are
queued and counted (``remaining``) in 48 kHz samples and brought down to the room's
rate a frame at a time as they play, and recorders get 48 kHz frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from confero.media.resample import Resampler

RATE = 48_000
#: The rate of a room whose legs are all narrowband phones.
NARROW = 8_000
FRAME = RATE // 50  # 960 samples = 20 ms
Frame = npt.NDArray[np.int16]
_I16_MIN, _I16_MAX = -32768, 32767


#: Ticks after speaking during which a leg still gets its own output, not the shared
#: mix: the shared encoder's resampler still holds the last milliseconds of the mix,
#: which contained this leg's own voice (a jitter-buffer gap would let it hear itself).
HANGOVER = 3


def gain_for_level(level: int, step_db: float = 3.0) -> float:
    """A listening volume step (``*7``/``*9``, -4..+4) as a linear gain."""
    return float(10 ** (level * step_db / 20))


class _Overlay:
    """Audio queued to play over the mix, consumed one frame per tick."""

    def __init__(self) -> None:
        self._chunks: deque[npt.NDArray[np.int32]] = deque()
        self._offset = 0
        #: brings played frames down to a narrowband room's rate (its filter's state)
        self._down: Resampler | None = None

    def add(self, samples: npt.NDArray[np.int16]) -> None:
        if samples.size:
            self._chunks.append(samples.astype(np.int32))

    def clear(self) -> None:
        self._chunks.clear()
        self._offset = 0
        self._down = None

    @property
    def active(self) -> bool:
        return bool(self._chunks)

    @property
    def remaining(self) -> int:
        return sum(c.size for c in self._chunks) - self._offset

    def take_at(self, rate: int) -> npt.NDArray[np.int32] | None:
        """The next 20 ms at ``rate`` (the room's), or None when nothing is queued."""
        frame = self.take()
        if frame is None or rate == RATE:
            return frame
        if self._down is None or self._down.to_rate != rate:
            self._down = Resampler(RATE, rate)
        return self._down.process(_clip(frame)).astype(np.int32)

    def take(self) -> npt.NDArray[np.int32] | None:
        if not self._chunks:
            return None
        out = np.zeros(FRAME, dtype=np.int32)
        filled = 0
        while filled < FRAME and self._chunks:
            chunk = self._chunks[0]
            n = min(FRAME - filled, chunk.size - self._offset)
            out[filled : filled + n] = chunk[self._offset : self._offset + n]
            filled += n
            self._offset += n
            if self._offset >= chunk.size:
                self._chunks.popleft()
                self._offset = 0
        return out


@dataclass
class MixLeg:
    id: str
    #: Muted legs add nothing to the mix but still hear it.
    muted: bool = False
    gain: float = 1.0
    #: Legs that hear nothing of the room yet (IVR, lobby) get only their own overlay.
    listening: bool = True
    overlay: _Overlay = field(default_factory=_Overlay)
    #: Set while the leg's overlay should be heard instead of the room (hold music).
    overlay_only: bool = False
    #: The tick this leg last spoke in (see ``HANGOVER``).
    last_spoke: int = -1_000


@dataclass
class OutputGroup:
    """Legs that hear exactly the same audio this tick."""

    frame: Frame
    legs: list[str]
    #: True for the shared full mix, which ``key`` names from tick to tick: an encoder
    #: (with its resampler state) can be kept per key and run once for all these legs.
    shared: bool
    key: Hashable = None


#: Bounds as numpy scalars: ``np.clip`` with Python ints converts them on every call,
#: three times the cost of the clip itself (measured, issue 15).
_LOW, _HIGH = np.int32(_I16_MIN), np.int32(_I16_MAX)


def _clip(x: npt.NDArray[np.int32] | npt.NDArray[np.float32]) -> Frame:
    return np.clip(x, _LOW, _HIGH).astype(np.int16)


class Mixer:
    def __init__(self, rate: int = RATE) -> None:
        self.legs: dict[str, MixLeg] = {}
        self.room_overlay = _Overlay()
        self.recorders: list[Callable[[Frame], None]] = []
        self.ticks = 0
        self.rate = RATE
        self.frame = FRAME
        self._record_up: Resampler | None = None
        self.set_rate(rate)

    def set_rate(self, rate: int) -> None:
        """Mix at ``rate`` from the next tick (48 kHz or ``NARROW``); the engine has the
        legs deliver and take frames at that rate."""
        assert rate in (RATE, NARROW), rate
        self.rate = rate
        self.frame = rate // 50
        self._record_up = None if rate == RATE else Resampler(rate, RATE)

    def add_leg(self, leg_id: str, *, listening: bool = True) -> MixLeg:
        leg = MixLeg(leg_id, listening=listening)
        self.legs[leg_id] = leg
        return leg

    def remove_leg(self, leg_id: str) -> None:
        self.legs.pop(leg_id, None)

    def talking(self, within: int = 15) -> set[str]:
        """Legs heard in the last ``within`` ticks (the talking indicator)."""
        return {i for i, leg in self.legs.items() if self.ticks - leg.last_spoke <= within}

    def play_to(self, leg_id: str, samples: Frame) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None:
            leg.overlay.add(samples)

    def play_to_room(self, samples: Frame) -> None:
        self.room_overlay.add(samples)

    def tick(self, inputs: dict[str, Frame | None]) -> list[OutputGroup]:
        """Mix one 20 ms frame; ``inputs`` maps leg id to its frame (or None)."""
        self.ticks += 1
        speaking: dict[str, npt.NDArray[np.int32]] = {}
        for leg_id, frame in inputs.items():
            if frame is None:
                continue  # (most legs, most ticks: checked first)
            leg = self.legs.get(leg_id)
            if leg is None or leg.muted or not leg.listening:
                continue
            speaking[leg_id] = frame.astype(np.int32)
            leg.last_spoke = self.ticks
        rate = self.rate
        if speaking:
            total = sum(speaking.values(), np.zeros(self.frame, dtype=np.int32))
        else:
            total = np.zeros(self.frame, dtype=np.int32)
        room = self.room_overlay.take_at(rate) if self.room_overlay._chunks else None
        if self.recorders:
            # Voices only: prompts and announcements are the bridge talking, not the
            # meeting (issue 12: "mixed audio, no prompts").
            recorded = _clip(total)
            if self._record_up is not None:
                recorded = self._record_up.process(recorded)
            for record in self.recorders:
                record(recorded)

        groups: dict[Hashable, OutputGroup] = {}
        ticks = self.ticks
        for leg in self.legs.values():
            own = leg.overlay.take_at(rate) if leg.overlay._chunks else None
            if not leg.listening or leg.overlay_only:
                base: npt.NDArray[np.int32] = np.zeros(self.frame, dtype=np.int32)
                key: Hashable = None
            elif leg.id in speaking:
                base = total - speaking[leg.id]
                key = None
            elif ticks - leg.last_spoke <= HANGOVER:
                base = total  # just fell silent: its own stream a little longer
                key = None
            else:
                base = total
                key = ("mix", leg.gain)
            if own is not None or key is None:
                mixed = base if leg.gain == 1.0 else base * leg.gain
                if leg.listening and not leg.overlay_only and room is not None:
                    mixed = mixed + room
                if own is not None:
                    mixed = mixed + own
                groups[("leg", leg.id)] = OutputGroup(_clip(mixed), [leg.id], shared=False)
                continue
            group = groups.get(key)
            if group is None:
                mixed = base if leg.gain == 1.0 else base * leg.gain
                if room is not None:
                    mixed = mixed + room
                groups[key] = OutputGroup(_clip(mixed), [leg.id], shared=True, key=key)
            else:
                group.legs.append(leg.id)
        return list(groups.values())


def silence() -> Frame:
    return np.zeros(FRAME, dtype=np.int16)


def frames_of(samples: Frame) -> Iterable[Frame]:
    """Split audio into whole 20 ms frames, padding the last with silence."""
    pad = (-samples.size) % FRAME
    padded = np.concatenate([samples, np.zeros(pad, dtype=np.int16)]) if pad else samples
    return (padded[i : i + FRAME] for i in range(0, padded.size, FRAME))
