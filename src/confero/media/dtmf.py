"""DTMF: RFC 4733 telephone events over RTP.

Why: keypad controls (``*1``, ``*6``, PIN entry in the IVR) arrive from phones as RFC 4733
named telephone events in the RTP stream, or, from some PBXs, as SIP INFO requests with an
``application/dtmf-relay`` body (read by ``sip/info_dtmf``: signalling, and SIP knows
nothing of media). They are control input and never enter the mix (house rule 5): a leg
routes packets of the negotiated ``telephone-event`` payload type here and only audio to
its jitter buffer.

What RFC 4733 asks of a receiver, and how :class:`DtmfReceiver` does it:

* An event is identified by its RTP timestamp, the start of the tone (section 2.3.1);
  every update packet of one key press repeats it. So one timestamp gives one digit, and
  two presses of the same key (two timestamps) give two digits.
* The final packet (E bit) is sent three times (section 2.5.1.4): the digit is reported
  on the first, the repeats are recognised by their timestamp and ignored.
* Packets can be lost (section 2.6): a digit whose end packets never come still ends when
  a packet with a newer event timestamp arrives, or when no packet has come for
  ``end_timeout`` seconds (:meth:`DtmfReceiver.poll`, called from the leg's tick).
  Packets of older events arriving late are ignored.
* A key held longer than the 16-bit duration field allows continues in a new segment
  whose timestamp is the old one plus its duration (section 2.5.1.3); that is the same
  digit, not a new one.
* Events 0-15 are the DTMF keys 0-9 * # A-D (section 3.2); other events are ignored.
* A flood is bounded: digits pass a token bucket (``max_digits_per_second`` with a burst
  allowance) per leg; the excess is dropped and counted.

:class:`DtmfSender` produces the packets of one digit (section 2.5.1): the first with the
marker bit, updates every ``update_interval`` seconds with the growing duration, all with
the event's start timestamp, and the final packet three times.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from confero.media.rtp import RtpPacket, RtpSender

__all__ = [
    "EVENT_DIGITS",
    "DtmfDigit",
    "DtmfError",
    "DtmfReceiver",
    "DtmfSender",
    "DtmfStats",
    "KeyPress",
    "ScheduledEvent",
    "TelephoneEvent",
    "digit_for_event",
    "event_for_digit",
    "parse_events",
]

#: Event codes 0..15 in order (RFC 4733 section 3.2, table 3).
EVENT_DIGITS: Final = "0123456789*#ABCD"
_EVENT: Final = struct.Struct("!BBH")


class DtmfError(ValueError):
    """A telephone-event payload is malformed, or a digit is unknown."""


class KeyPress(Protocol):
    """A key that came by signalling rather than RTP (``sip.info_dtmf.DtmfRelay``)."""

    @property
    def signal(self) -> str: ...

    @property
    def duration_ms(self) -> int: ...


def digit_for_event(event: int) -> str | None:
    """The key for an event code, or None for events that are not DTMF keys."""
    return EVENT_DIGITS[event] if 0 <= event < len(EVENT_DIGITS) else None


def event_for_digit(digit: str) -> int:
    """The event code of a key (``'0'``-``'9'``, ``'*'``, ``'#'``, ``'A'``-``'D'``)."""
    index = EVENT_DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise DtmfError(f"{digit!r} is not a DTMF key")
    return index


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One event block of an RFC 4733 payload (section 2.3)."""

    event: int
    end: bool = False
    volume: int = 10  #: power level in -dBm0 (0..63)
    duration: int = 0  #: in timestamp units since the event's start

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 255:
            raise DtmfError("event code out of range")
        if not 0 <= self.volume <= 63:
            raise DtmfError("volume out of range")
        if not 0 <= self.duration <= 0xFFFF:
            raise DtmfError("duration out of range")

    @property
    def digit(self) -> str | None:
        return digit_for_event(self.event)

    @classmethod
    def parse(cls, payload: bytes | bytearray | memoryview) -> TelephoneEvent:
        """The first (usually only) event block of a payload."""
        return parse_events(payload)[0]

    def to_bytes(self) -> bytes:
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


def parse_events(payload: bytes | bytearray | memoryview) -> list[TelephoneEvent]:
    """All event blocks of a payload (section 2.5.1.5 allows several in one packet)."""
    data = bytes(payload)
    if not data or len(data) % _EVENT.size:
        raise DtmfError(f"telephone-event payload of {len(data)} octets, need a multiple of 4")
    events = []
    for offset in range(0, len(data), _EVENT.size):
        event, flags, duration = _EVENT.unpack_from(data, offset)
        events.append(TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration))
    return events


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """A key press as the receiver reports it."""

    digit: str
    duration: float  #: seconds, from the event's duration field (INFO: its Duration)
    timestamp: int | None = None  #: the event's RTP timestamp (None for SIP INFO)
    ended_by: Literal["end", "next", "timeout", "info"] = "end"


@dataclass(slots=True)
class _Active:
    timestamp: int
    event: int
    duration: int
    last_seen: float
    offset: int = 0  # duration of earlier segments of a long event


def _newer(a: int, b: int) -> bool:
    """RTP timestamp ``a`` is after ``b`` (modulo 2**32, RFC 3550 style)."""
    return 0 < ((a - b) & 0xFFFFFFFF) < 0x80000000


@dataclass(slots=True)
class DtmfStats:
    digits: int = 0  #: digits reported
    dropped: int = 0  #: digits dropped by the flood bound
    ignored: int = 0  #: packets of old or non-DTMF events, repeats of final packets
    malformed: int = 0  #: payloads that did not parse


class DtmfReceiver:
    """Turns one leg's RFC 4733 packets (and INFO bodies) into digits, once each.

    ``feed`` takes each telephone-event packet from the leg's (already source-filtered)
    RTP stream; ``poll`` ends a digit whose final packets were lost and should be called
    every tick. Both return the digits completed, usually none. Times are monotonic seconds.
    """

    def __init__(
        self,
        *,
        clock_rate: int = 8000,
        end_timeout: float = 0.2,
        max_digits_per_second: float = 10.0,
        burst: int = 20,
    ) -> None:
        self.clock_rate = clock_rate
        self.end_timeout = end_timeout
        self.rate = max_digits_per_second
        self.burst = burst
        self.stats = DtmfStats()
        self._tokens = float(burst)
        self._refilled: float | None = None
        self._active: _Active | None = None
        self._latest_done: int | None = None  # timestamp of the newest finished event

    def reset(self) -> None:
        """A new source (new SSRC): forget the event in progress, keep the flood budget."""
        self._active = None
        self._latest_done = None

    def _admit(self, now: float) -> bool:
        if self._refilled is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.stats.dropped += 1
        return False

    def _finish(
        self, now: float, ended_by: Literal["end", "next", "timeout"], out: list[DtmfDigit]
    ) -> None:
        active = self._active
        assert active is not None
        self._active = None
        self._latest_done = active.timestamp
        digit = digit_for_event(active.event)
        if digit is not None and self._admit(now):
            self.stats.digits += 1
            start = (active.timestamp - active.offset) & 0xFFFFFFFF
            duration = (active.offset + active.duration) / self.clock_rate
            out.append(DtmfDigit(digit, duration, start, ended_by))

    @property
    def pending(self) -> bool:
        """A key is down (an event in progress): ``poll`` may end it."""
        return self._active is not None

    def poll(self, now: float) -> list[DtmfDigit]:
        """End the event in progress if its packets stopped coming."""
        out: list[DtmfDigit] = []
        if self._active is not None and now - self._active.last_seen > self.end_timeout:
            self._finish(now, "timeout", out)
        return out

    def feed(self, packet: RtpPacket, now: float) -> list[DtmfDigit]:
        """Account one telephone-event packet; returns the digits it completed."""
        try:
            event = TelephoneEvent.parse(packet.payload)
        except DtmfError:
            self.stats.malformed += 1
            return self.poll(now)
        out = self.poll(now)
        ts = packet.timestamp
        active = self._active
        if self._latest_done is not None and not _newer(ts, self._latest_done):
            self.stats.ignored += 1  # a repeated final packet or a late one of an old event
            return out
        if active is not None and ts != active.timestamp:
            if not _newer(ts, active.timestamp):
                self.stats.ignored += 1
                return out
            if (
                event.event == active.event
                and ts == (active.timestamp + active.duration) & 0xFFFFFFFF
                and active.duration >= 0x8000
            ):
                # the next segment of a long key press (section 2.5.1.3): same digit
                active.offset += active.duration
                active.timestamp = ts
                active.duration = 0
            else:
                self._finish(now, "next", out)
                active = None
        if active is None:
            if digit_for_event(event.event) is None:
                self.stats.ignored += 1
                return out
            active = self._active = _Active(ts, event.event, event.duration, now)
        else:
            active.duration = max(active.duration, event.duration)
            active.last_seen = now
        if event.end:
            self._finish(now, "end", out)
        return out

    def feed_info(self, relay: KeyPress, now: float) -> list[DtmfDigit]:
        """A digit that came by signalling (a SIP INFO), under the same flood bound."""
        if not self._admit(now):
            return []
        self.stats.digits += 1
        return [DtmfDigit(relay.signal, relay.duration_ms / 1000, None, "info")]


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """One packet of an outgoing digit: send it ``at`` seconds after the key press began."""

    at: float
    event: TelephoneEvent
    marker: bool = False

    def stamp(self, rtp: RtpSender, timestamp: int, payload_type: int) -> RtpPacket:
        """Give it the stream's next sequence number and the event's timestamp."""
        return rtp.stamp(
            self.event.to_bytes(),
            timestamp=timestamp,
            marker=self.marker,
            payload_type=payload_type,
        )


@dataclass(frozen=True, slots=True)
class DtmfSender:
    """Produces the RFC 4733 packets for a digit on a given ``telephone-event`` type."""

    payload_type: int = 101
    clock_rate: int = 8000
    volume: int = 10
    update_interval: float = 0.05
    end_repeats: int = 3
    min_duration: float = 0.04

    def schedule(self, digit: str, duration: float = 0.1) -> list[ScheduledEvent]:
        """The packets of one key press of ``duration`` seconds and when to send them.

        Updates go out every ``update_interval`` while the key is down, each reporting the
        duration so far; the first carries the marker bit. The final packet (E bit, full
        duration) goes out ``end_repeats`` times, ``update_interval`` apart.
        """
        code = event_for_digit(digit)
        duration = max(duration, self.min_duration)
        total = min(round(duration * self.clock_rate), 0xFFFF)
        step = max(1, round(self.update_interval * self.clock_rate))
        out: list[ScheduledEvent] = []
        elapsed = step
        while elapsed < total:
            event = TelephoneEvent(code, False, self.volume, elapsed)
            out.append(ScheduledEvent(elapsed / self.clock_rate, event, marker=not out))
            elapsed += step
        final = TelephoneEvent(code, True, self.volume, total)
        for i in range(self.end_repeats):
            at = (total + i * step) / self.clock_rate
            out.append(ScheduledEvent(at, final, marker=not out))
        return out

    def packets(self, digit: str, rtp: RtpSender, duration: float = 0.1) -> list[RtpPacket]:
        """All packets of a key press stamped now, with the stream's current timestamp as
        the event's start. For a stream whose audio is paused meanwhile; afterwards call
        ``rtp.pause(samples)`` for the audio frames not sent so the clock moves on."""
        start = rtp.timestamp
        return [s.stamp(rtp, start, self.payload_type) for s in self.schedule(digit, duration)]
