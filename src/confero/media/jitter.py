"""An adaptive jitter buffer per incoming audio leg.

Why: packets from a phone arrive with variable delay, out of order, duplicated or not at
all, but the mixer (house rule 5) pulls exactly one 20 ms frame per leg per tick. The
buffer sits between the two: ``put(packet, arrival)`` from the socket, ``pop(now)`` once
per tick, both on the same monotonic clock (seconds).

How it plays out (a simplified NetEq-style design, RFC 3550 section 6.4.1 and appendix
A.8 describe the underlying transit/jitter notions):

* Playout is driven by RTP timestamps, unwrapped to unbounded integers, so sequence and
  timestamp wrap-around are non-events. The playout point ``P`` is the timestamp of the
  next sample to output; each ``pop`` emits ``frame_samples`` samples from ``P`` and moves
  it on. Packets whose data is already behind ``P`` are late and dropped; a packet whose
  sequence number or timestamp is already buffered (or recently played) is a duplicate.
* Clock model: each packet's transit ``arrival - timestamp/rate`` is recorded; the
  smallest transit in a sliding window (``base``) is the fastest path seen. A sample with
  timestamp ``t`` should play at ``t/rate + base + target``. ``pop`` compares where ``P``
  is with where it should be and, outside a one-frame hysteresis band, either repeats a
  frame without advancing (*expand*: more delay) or drops one (*accelerate*: less delay).
  In silence both adjustments are free; to shed delay it waits for a quiet or concealed
  frame to drop unless it is 2.5 frames behind.
* Target delay: the 95th percentile of the window's relative delays (transit - base)
  plus one frame, clamped to ``[min_delay, max_delay]``. It is recomputed every 25
  packets and moves down by at most 20 ms per recomputation; a packet that arrives late
  raises it at once (fast attack, slow decay).
* Loss vs silence: a gap before a packet whose sequence number follows the last one
  played, or that carries the marker bit (RFC 3551 section 4.1), is silence (the sender
  suppressed it); otherwise packets were lost. Up to ``max_concealed`` consecutive lost
  frames are concealed by repeating the last frame with decreasing gain (simple packet
  loss concealment); after that, and for silence, the leg is silent and ``pop`` returns
  ``None``, which the mixer reads as "not speaking".
* A timestamp discontinuity (the transit jumps by more than a second for two consecutive
  packets, as after hold when a phone restarts its clock) restarts playout.
* Memory is bounded: at most ``max_packets`` packets are held (the oldest is dropped),
  and the statistics window and duplicate memory have fixed sizes.

The buffer stores payloads and decodes them in order at playout time with the codec's
``decode`` callable, so a stateful decoder sees its packets in sequence. Positions are
RTP timestamp units; a codec whose audio rate differs from its RTP clock (G.722: 16 kHz
audio, 8000 Hz clock, RFC 3551 4.5.2; issue 13) gives ``samples_per_unit`` decoded
samples per unit, so a frame is ``frame_samples * samples_per_unit`` samples. Only audio
packets belong here: RFC 4733 events go to :mod:`confero.media.dtmf` and never reach
the mix. Since events share the audio stream's sequence numbers, a key press looks like a
short loss to this buffer; concealment covers at most ``max_concealed`` frames of it.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from confero.media.rtp import RtpPacket, Unwrapper

__all__ = ["Frame", "JitterBuffer", "JitterStats"]

Int16Array = npt.NDArray[np.int16]
Decoder = Callable[[bytes], Int16Array]

_RETARGET_EVERY: Final = 25  # packets
_MAX_DECAY: Final = 0.02  # seconds the target may fall per recomputation
_RECENT: Final = 128  # played sequence numbers remembered to recognise duplicates
_QUIET_PEAK: Final = 1000  # a frame peaking below this (about -30 dBFS) is dropped first


def _quantile(values: npt.NDArray[np.float64], q: float) -> float:
    """``np.quantile(values, q)`` (linear interpolation) by partial sort: the same
    figure at a fifth of the cost, for every leg twice a second (issue 15)."""
    position = q * (values.size - 1)
    lo = int(position)
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (position - lo))


class Frame(NamedTuple):
    """One tick's worth of audio from a leg (immutable; a tuple because one is made per
    leg per tick, and a frozen dataclass costs half as much again to build)."""

    pcm: Int16Array
    timestamp: int  #: unwrapped RTP timestamp of the first sample
    concealed: bool = False  #: some or all samples were made up by loss concealment


@dataclass(slots=True)
class JitterStats:
    """Counters for monitoring and tests (packets unless said otherwise)."""

    received: int = 0  #: packets buffered
    played: int = 0  #: frames with received audio
    concealed: int = 0  #: frames made up for lost packets
    silent: int = 0  #: pops after playout started that returned None
    lost: int = 0  #: sequence numbers skipped at playout (lost on the way or late)
    late: int = 0
    duplicates: int = 0
    overflow: int = 0  #: dropped because the buffer was full
    expanded: int = 0  #: frames inserted to grow the delay
    accelerated: int = 0  #: frames skipped to shrink the delay
    resyncs: int = 0  #: playout restarts after a timestamp discontinuity


def _quiet(frame: Frame) -> bool:
    """Cheap to drop: concealed, or peaks below about -30 dBFS."""
    return frame.concealed or int(np.abs(frame.pcm).max(initial=0)) < _QUIET_PEAK


@dataclass(slots=True)
class _Entry:
    timestamp: int
    sequence: int
    marker: bool
    payload: bytes


class JitterBuffer:
    """Adaptive jitter buffer for one audio stream (see the module docstring)."""

    def __init__(
        self,
        decode: Decoder,
        *,
        clock_rate: int = 8000,
        frame_ms: int = 20,
        min_delay: float = 0.02,
        max_delay: float = 0.2,
        initial_delay: float = 0.06,
        max_packets: int = 50,
        max_concealed: int = 2,
        quantile: float = 0.95,
        window: int = 250,
        resync_after: float = 1.0,
        samples_per_unit: int = 1,
    ) -> None:
        if not 0 < min_delay <= max_delay:
            raise ValueError("need 0 < min_delay <= max_delay")
        if max_packets < 2 or window < 2:
            raise ValueError("max_packets and window must be at least 2")
        if samples_per_unit < 1:
            raise ValueError("samples_per_unit must be at least 1")
        self._decode = decode
        self.clock_rate = clock_rate
        #: RTP timestamp units per output frame (the unit of every position here)
        self.frame_samples = clock_rate * frame_ms // 1000
        #: decoded samples per timestamp unit: 2 for G.722 (16 kHz audio, 8000 Hz clock)
        self.samples_per_unit = samples_per_unit
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.max_packets = max_packets
        self.max_concealed = max_concealed
        self.quantile = quantile
        self.resync_after = max(resync_after, 2 * max_delay)
        self.target_delay = min(max(initial_delay, min_delay), max_delay)
        self.stats = JitterStats()
        #: a ring of transits (a list: a numpy element write costs several times more)
        self._window: list[float] = [0.0] * window
        self._restart()

    # -- state -------------------------------------------------------------------------

    def _restart(self) -> None:
        """Forget the stream (not the target delay or the statistics)."""
        self._ts = Unwrapper(32)
        self._seq = Unwrapper(16)
        self._keys: list[int] = []  # buffered timestamps, ascending
        self._entries: dict[int, _Entry] = {}
        self._buffered_seqs: set[int] = set()
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()
        self._base: float | None = None
        self._filled = 0
        self._cursor = 0
        self._since_retarget = 0
        self._candidate: tuple[RtpPacket, float, float] | None = None
        self._started = False
        self._position = 0  # P: unwrapped timestamp of the next sample to play
        self._carry: Int16Array | None = None  # decoded samples starting at P
        self._last_pcm: Int16Array | None = None  # last frame of received audio
        self._last_seq: int | None = None
        self._conceal_run = 0
        self._expand_run = 0

    def reset(self) -> None:
        """A new source (new SSRC, re-INVITE): drop everything buffered and start over."""
        self._restart()

    @property
    def buffered(self) -> int:
        """Packets waiting."""
        return len(self._keys)

    # -- input -------------------------------------------------------------------------

    def put(self, packet: RtpPacket, arrival: float) -> bool:
        """Buffer one audio packet; False if it was dropped (late, duplicate, suspect)."""
        ts = self._ts.peek(packet.timestamp)
        transit = arrival - ts / self.clock_rate
        if self._base is not None and abs(transit - self._base) > self.resync_after:
            return self._discontinuity(packet, arrival, transit)
        self._candidate = None
        seq = self._seq.peek(packet.sequence)
        newest = self._seq.highest
        if (newest is None or seq <= newest) and (
            seq in self._buffered_seqs or seq in self._recent_set
        ):  # (a sequence number past every one seen cannot be a duplicate)
            self.stats.duplicates += 1
            return False
        if ts in self._entries:
            self.stats.duplicates += 1
            return False
        if self._started and ts < self._position:
            self.stats.late += 1
            self._record_transit(transit)
            self._raise_target(transit)
            return False
        self._ts.see(ts)
        self._seq.see(seq)
        if self._base is None or transit < self._base:
            self._base = transit
        self._record_transit(transit)
        keys = self._keys
        if not keys or ts > keys[-1]:
            keys.append(ts)  # in order: nearly every packet
        else:
            bisect.insort(keys, ts)
        self._entries[ts] = _Entry(ts, seq, packet.marker, packet.payload)
        self._buffered_seqs.add(seq)
        self.stats.received += 1
        if len(self._keys) > self.max_packets:
            self._drop(self._keys[0])
            self.stats.overflow += 1
        return True

    def _discontinuity(self, packet: RtpPacket, arrival: float, transit: float) -> bool:
        candidate = self._candidate
        if (
            candidate is not None
            and packet.sequence == (candidate[0].sequence + 1) & 0xFFFF
            and abs(transit - candidate[2]) < self.resync_after / 2
        ):
            self.stats.resyncs += 1
            self.stats.late -= 1  # the candidate was counted late; it is played after all
            self._restart()
            self.put(candidate[0], candidate[1])
            return self.put(packet, arrival)
        self._candidate = (packet, arrival, transit)
        self.stats.late += 1
        return False

    def _drop(self, ts: int) -> None:
        entry = self._entries.pop(ts)
        if self._keys[0] == ts:
            del self._keys[0]
        else:
            self._keys.remove(ts)
        self._buffered_seqs.discard(entry.sequence)

    def _record_transit(self, transit: float) -> None:
        window = self._window
        cursor = self._cursor
        window[cursor] = transit
        cursor += 1
        self._cursor = 0 if cursor == len(window) else cursor
        if self._filled < len(window):
            self._filled += 1
        self._since_retarget += 1
        if self._since_retarget >= _RETARGET_EVERY:
            self._since_retarget = 0
            self._retarget()

    def _retarget(self) -> None:
        transits = np.array(self._window[: self._filled])
        self._base = float(transits.min())
        relative = _quantile(transits - self._base, self.quantile)
        desired = self._clamp(relative + self.frame_samples / self.clock_rate)
        if desired >= self.target_delay:
            self.target_delay = desired
        else:
            self.target_delay = max(desired, self.target_delay - _MAX_DECAY)

    def _raise_target(self, transit: float) -> None:
        if self._base is not None:
            needed = transit - self._base + self.frame_samples / self.clock_rate
            self.target_delay = max(self.target_delay, self._clamp(needed))

    def _clamp(self, delay: float) -> float:
        return min(max(delay, self.min_delay), self.max_delay)

    # -- output ------------------------------------------------------------------------

    def _due(self, now: float) -> float:
        """The timestamp that should be playing at ``now`` (fractional)."""
        assert self._base is not None
        return (now - self._base - self.target_delay) * self.clock_rate

    def pop(self, now: float) -> Frame | None:
        """The next ``frame_samples`` samples, or None when the leg is silent."""
        f = self.frame_samples
        if not self._started:
            if not self._keys or self._due(now) < self._keys[0] - f / 2:
                return None
            self._started = True
            self._position = self._keys[0]
        deviation = self._due(now) - self._position
        if deviation >= self.max_delay * self.clock_rate + f:
            skip = int((deviation - f / 2) // f)  # far behind (a stall): jump, do not crawl
            self._skip(skip * f)
            self.stats.accelerated += skip
        elif deviation >= 1.5 * f:
            frame = self._fill()
            if deviation < 2.5 * f and frame is not None and not _quiet(frame):
                return frame  # wait for a quiet frame to drop, unless too far behind
            self._uncount(frame)
            self.stats.accelerated += 1
        elif deviation < -f / 2:
            self.stats.expanded += 1
            talking = self._carry is not None or bool(
                self._keys and self._keys[0] == self._position
            )
            if talking and self._last_pcm is not None and self._expand_run < self.max_concealed:
                self._expand_run += 1  # fades like loss concealment, then inserts silence
                gain = 0.7**self._expand_run
                pcm = self._attenuated(f * self.samples_per_unit, gain)
                return Frame(pcm, self._position, concealed=True)
            return None
        self._expand_run = 0
        return self._fill()

    def _uncount(self, frame: Frame | None) -> None:
        """A frame made by ``_fill`` is dropped: it was not output after all."""
        if frame is None:
            self.stats.silent -= 1
        elif frame.concealed and self._conceal_run:
            self.stats.concealed -= 1
        else:
            self.stats.played -= 1

    def _skip(self, samples: int) -> None:
        if self._carry is not None:
            dropped = min(samples * self.samples_per_unit, self._carry.size)
            self._carry = self._carry[dropped:] if dropped < self._carry.size else None
        self._position += samples
        while self._keys and self._keys[0] < self._position:
            entry = self._entries[self._keys[0]]
            self._drop(self._keys[0])
            self._consumed(entry.sequence)

    def _consumed(self, seq: int) -> None:
        if self._last_seq is not None and seq > self._last_seq + 1:
            self.stats.lost += seq - self._last_seq - 1
        if self._last_seq is None or seq > self._last_seq:
            self._last_seq = seq
        self._recent.append(seq)
        self._recent_set.add(seq)
        if len(self._recent) > _RECENT:
            self._recent_set.discard(self._recent.popleft())

    def _attenuated(self, samples: int, gain: float) -> Int16Array:
        assert self._last_pcm is not None
        src = np.resize(self._last_pcm, samples)
        return (src * gain).astype(np.int16)

    def _fill(self) -> Frame | None:
        f = self.frame_samples
        r = self.samples_per_unit
        start = self._position
        keys = self._keys
        if self._carry is None and keys and keys[0] == start:
            # the usual case, one whole packet due now: no gap, nothing carried over
            entry = self._entries.pop(start)
            del keys[0]
            self._buffered_seqs.discard(entry.sequence)
            self._consumed(entry.sequence)
            pcm = self._decode(entry.payload)
            if pcm.size == f * r:
                self._position = start + f
                self._last_pcm = pcm
                self._conceal_run = 0
                self.stats.played += 1
                return Frame(pcm, start, concealed=False)
            if pcm.size:
                self._carry = pcm  # a packet of another length: the general case below
        parts: list[Int16Array] = []
        need = f  # timestamp units; the carry and the parts are samples (r per unit)
        real = concealed = False
        while need > 0:
            carry = self._carry
            if carry is not None:
                wanted = need * r
                take = carry[:wanted]
                self._carry = carry[wanted:] if carry.size > wanted else None
                parts.append(take)
                units = (take.size + r - 1) // r
                self._position += units
                need -= units
                real = True
                continue
            while self._keys and self._keys[0] < self._position:
                entry = self._entries[self._keys[0]]  # overtaken while buffered
                self._drop(entry.timestamp)
                self.stats.late += 1
            if self._keys and self._keys[0] == self._position:
                entry = self._entries[self._position]
                self._drop(entry.timestamp)
                self._consumed(entry.sequence)
                pcm = self._decode(entry.payload)
                if pcm.size:
                    self._carry = pcm
                continue
            nxt = self._entries[self._keys[0]] if self._keys else None
            gap = need if nxt is None else min(need, nxt.timestamp - self._position)
            fill = self._gap_fill(gap * r, nxt)
            if fill is None:
                fill = np.zeros(gap * r, np.int16)
            else:
                concealed = True
            parts.append(fill)
            self._position += gap
            need -= gap
        if real:
            pcm = parts[0] if len(parts) == 1 else np.concatenate(parts)
            self._last_pcm = pcm
            self._conceal_run = 0
            self.stats.played += 1
            return Frame(pcm, start, concealed=concealed)
        if concealed:
            self._conceal_run += 1
            self.stats.concealed += 1
            return Frame(np.concatenate(parts) if len(parts) > 1 else parts[0], start, True)
        self.stats.silent += 1
        return None

    def _gap_fill(self, samples: int, nxt: _Entry | None) -> Int16Array | None:
        """Concealment for a gap before ``nxt`` (None: nothing buffered), or None: silence."""
        if self._last_pcm is None or self._conceal_run >= self.max_concealed:
            return None
        if nxt is not None and (
            nxt.marker or (self._last_seq is not None and nxt.sequence == self._last_seq + 1)
        ):
            return None  # the sender suppressed silence; nothing was lost
        return self._attenuated(samples, 0.7 ** (self._conceal_run + 1))
