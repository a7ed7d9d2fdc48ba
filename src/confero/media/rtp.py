"""RTP packets (RFC 3550 section 5.1), a sender's header state, and the receive-side filter.

Why here and not in a library: phone legs are plain RTP over UDP that we terminate
ourselves (browser legs come through aiortc), and the few pieces needed are small enough
to own and to test against malformed input:

* :class:`RtpPacket` parses and serializes the fixed header, the CSRC list, the header
  extension (RFC 3550 section 5.3.1, profile-specific 16-bit id + length in 32-bit words)
  and padding (the last octet counts the padding octets, itself included). Anything that
  does not fit raises :class:`RtpError` and nothing else.
* :class:`RtpSender` keeps one outgoing stream's SSRC and sequence/timestamp counters,
  starting at random values (RFC 3550 section 5.1, to make known-plaintext attacks on
  encrypted streams harder) and sets the marker bit on the first packet of a talk spurt
  (RFC 3551 section 4.1).
* :class:`RtpReceiverFilter` protects a leg from RTP injection and stray streams: it
  latches the first source transport address and SSRC (or the address the SDP announced)
  and ignores packets from any other address or SSRC. It re-latches only to the latched
  host (issue 13): a new SSRC whose sequence starts a valid run (RFC 3550 appendix A.1
  probation, two sequential packets) from any port of that host (a phone behind NAT that
  re-registered and got a new mapping), a new SSRC from the latched address once the old
  one fell silent (phones change SSRC on re-INVITE or after hold, section 8.2), or the
  same SSRC from a new port once the old port has been silent for a second (the NAT
  mapping moved). A stranger's host never takes the leg over.
* :class:`Unwrapper` turns 16-bit sequence numbers and 32-bit timestamps into unbounded
  integers so that wrap-around (RFC 3550 appendix A.1) is a non-event for the consumers.
"""

from __future__ import annotations

import enum
import secrets
import struct
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "RTP_VERSION",
    "Address",
    "RtpError",
    "RtpExtension",
    "RtpPacket",
    "RtpReceiverFilter",
    "RtpSender",
    "Unwrapper",
    "Verdict",
    "is_rtcp",
]

RTP_VERSION: Final = 2
_HEADER: Final = struct.Struct("!BBHII")
_EXT_HEADER: Final = struct.Struct("!HH")
#: The first octet of nearly every packet: version 2, no padding, extension or CSRCs.
_PLAIN: Final = RTP_VERSION << 6
_new = object.__new__
_set = object.__setattr__

#: A UDP transport address as asyncio gives it: ``(host, port)``.
Address = tuple[str, int]


class RtpError(ValueError):
    """A datagram is not a well-formed RTP packet, or a field is out of range."""


def is_rtcp(data: bytes | bytearray | memoryview) -> bool:
    """True if a datagram on a muxed RTP/RTCP port is RTCP (RFC 5761 section 4).

    RTCP packet types 192-223 occupy the second octet where RTP has marker + payload type;
    RTP payload types 64-95 are therefore not used on a muxed port.
    """
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """The one header extension RFC 3550 allows: a profile-defined id and 32-bit words."""

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise RtpError("extension profile out of range")
        if len(self.data) % 4 or len(self.data) > 0xFFFF * 4:
            raise RtpError("extension data must be a whole number of 32-bit words")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet. ``padding`` is the number of padding octets (0 = no P bit)."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise RtpError("payload type out of range")
        if not 0 <= self.sequence <= 0xFFFF:
            raise RtpError("sequence number out of range")
        if not 0 <= self.timestamp <= 0xFFFFFFFF:
            raise RtpError("timestamp out of range")
        if not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise RtpError("SSRC out of range")
        if len(self.csrcs) > 15 or any(not 0 <= c <= 0xFFFFFFFF for c in self.csrcs):
            raise RtpError("at most 15 CSRCs of 32 bits")
        if not 0 <= self.padding <= 255:
            raise RtpError("padding must be 0..255 octets")

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        """Parse one datagram; raises :class:`RtpError` if it is not valid RTP."""
        data = bytes(data)
        if len(data) < _HEADER.size:
            raise RtpError(f"{len(data)} octets is shorter than the RTP header")
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        if b0 == _PLAIN:
            return cls._parsed(b1 & 0x7F, seq, ts, ssrc, data[12:], bool(b1 & 0x80))
        if b0 >> 6 != RTP_VERSION:
            raise RtpError(f"RTP version {b0 >> 6}, expected 2")
        end = len(data)
        padding = 0
        if b0 & 0x20:
            padding = data[-1]
            if padding == 0:
                raise RtpError("padding bit set but padding count is 0")
            if padding > len(data) - _HEADER.size:
                raise RtpError("padding count runs into the header")
            end -= padding
        offset = _HEADER.size
        cc = b0 & 0x0F
        if offset + 4 * cc > end:
            raise RtpError("CSRC list runs past the packet")
        csrcs = struct.unpack_from(f"!{cc}I", data, offset) if cc else ()
        offset += 4 * cc
        extension = None
        if b0 & 0x10:
            if offset + _EXT_HEADER.size > end:
                raise RtpError("extension header runs past the packet")
            profile, words = _EXT_HEADER.unpack_from(data, offset)
            offset += _EXT_HEADER.size
            if offset + 4 * words > end:
                raise RtpError("extension runs past the packet")
            extension = RtpExtension(profile, data[offset : offset + 4 * words])
            offset += 4 * words
        return cls(
            payload_type=b1 & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=data[offset:end],
            marker=bool(b1 & 0x80),
            csrcs=tuple(csrcs),
            extension=extension,
            padding=padding,
        )

    @classmethod
    def _parsed(
        cls,
        payload_type: int,
        sequence: int,
        timestamp: int,
        ssrc: int,
        payload: bytes,
        marker: bool,
    ) -> RtpPacket:
        """A packet from a plain header's fields, which are in range by construction:
        the checks of ``__post_init__`` are skipped (issue 15: they were a tenth of a
        phone leg's receive path)."""
        packet = _new(cls)
        _set(packet, "payload_type", payload_type)
        _set(packet, "sequence", sequence)
        _set(packet, "timestamp", timestamp)
        _set(packet, "ssrc", ssrc)
        _set(packet, "payload", payload)
        _set(packet, "marker", marker)
        _set(packet, "csrcs", ())
        _set(packet, "extension", None)
        _set(packet, "padding", 0)
        return packet

    def to_bytes(self) -> bytes:
        """Serialize (RFC 3550 section 5.1 layout, network byte order)."""
        b0 = (RTP_VERSION << 6) | len(self.csrcs)
        if self.padding:
            b0 |= 0x20
        if self.extension is not None:
            b0 |= 0x10
        b1 = (0x80 if self.marker else 0) | self.payload_type
        parts = [_HEADER.pack(b0, b1, self.sequence, self.timestamp, self.ssrc)]
        if self.csrcs:
            parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        if self.extension is not None:
            ext = self.extension
            parts.append(_EXT_HEADER.pack(ext.profile, len(ext.data) // 4))
            parts.append(ext.data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


class Unwrapper:
    """Extend a wrapping ``bits``-wide counter (RTP sequence: 16, timestamp: 32) to an int.

    Each value is placed at the unbounded integer nearest to the highest one seen so far,
    so reordered packets just before a wrap and packets just after it both come out right.
    The first value is returned as is; values before it may come out negative.
    """

    __slots__ = ("_half", "_mask", "highest")

    def __init__(self, bits: int = 16) -> None:
        self._mask = (1 << bits) - 1
        self._half = 1 << (bits - 1)
        self.highest: int | None = None

    def peek(self, value: int) -> int:
        """The extended value without recording it as seen."""
        if self.highest is None:
            return value
        delta = ((value - self.highest) + self._half) & self._mask
        return self.highest + delta - self._half

    def extend(self, value: int) -> int:
        ext = self.peek(value)
        self.see(ext)
        return ext

    def see(self, extended: int) -> None:
        """Record a value ``peek`` already extended (saves extending it twice)."""
        if self.highest is None or extended > self.highest:
            self.highest = extended

    def reset(self) -> None:
        self.highest = None


def _random32() -> int:
    return secrets.randbits(32)


@dataclass(slots=True)
class RtpSender:
    """Header state of one outgoing RTP stream.

    ``next(payload, samples)`` returns a packet stamped with the current sequence number
    and timestamp and then advances them (the timestamp by ``samples``, the frame's length
    in clock-rate units). Call ``pause(samples)`` for each frame not sent during silence
    suppression; the next packet then carries the marker bit, as does the very first one.
    """

    payload_type: int
    ssrc: int = field(default_factory=_random32)
    sequence: int = field(default_factory=lambda: secrets.randbits(16))
    timestamp: int = field(default_factory=_random32)
    packets_sent: int = 0
    octets_sent: int = 0
    _talkspurt: bool = field(default=True, init=False, repr=False)

    def next(
        self,
        payload: bytes,
        samples: int,
        *,
        marker: bool | None = None,
        payload_type: int | None = None,
    ) -> RtpPacket:
        """The next packet; ``marker`` overrides the talk-spurt rule when given."""
        packet = self.stamp(
            payload,
            timestamp=self.timestamp,
            marker=self._talkspurt if marker is None else marker,
            payload_type=payload_type,
        )
        self._talkspurt = False
        self.advance(samples)
        return packet

    def stamp(
        self,
        payload: bytes,
        *,
        timestamp: int,
        marker: bool = False,
        payload_type: int | None = None,
    ) -> RtpPacket:
        """A packet with the next sequence number and an explicit timestamp (for events
        such as RFC 4733 DTMF whose packets all carry the event's start time)."""
        packet = RtpPacket(
            payload_type=self.payload_type if payload_type is None else payload_type,
            sequence=self.sequence,
            timestamp=timestamp & 0xFFFFFFFF,
            ssrc=self.ssrc,
            payload=payload,
            marker=marker,
        )
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return packet

    def pack(self, payload: bytes, samples: int) -> bytes:
        """``next(payload, samples).to_bytes()`` without the packet object: the media
        tick sends one of these per leg every 20 ms (issue 15)."""
        b1 = self.payload_type | 0x80 if self._talkspurt else self.payload_type
        data = _HEADER.pack(_PLAIN, b1, self.sequence, self.timestamp, self.ssrc) + payload
        self._talkspurt = False
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return data

    def advance(self, samples: int) -> None:
        """Move the media clock on by ``samples`` without sending."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF

    def pause(self, samples: int) -> None:
        """A frame of ``samples`` was suppressed: advance the clock, mark the next spurt."""
        self.advance(samples)
        self._talkspurt = True


class Verdict(enum.Enum):
    """What :meth:`RtpReceiverFilter.check` decided about one packet."""

    ACCEPT = "accept"
    #: accepted, but it is a new stream (first packet, or a new SSRC from the latched
    #: address after silence): reset the jitter buffer, DTMF receiver and statistics.
    NEW_SOURCE = "new_source"
    FOREIGN_ADDRESS = "foreign_address"
    FOREIGN_SSRC = "foreign_ssrc"

    @property
    def accepted(self) -> bool:
        return self in (Verdict.ACCEPT, Verdict.NEW_SOURCE)


@dataclass(slots=True)
class RtpReceiverFilter:
    """Which incoming RTP packets belong to this leg.

    With ``expected`` (the address from the remote SDP) only that address is accepted;
    without it the first packet's source address is latched (symmetric RTP, RFC 4961, for
    phones behind NAT). The first SSRC seen is latched too. Packets from other hosts are
    ignored. From the latched host (issue 13):

    * a different SSRC from the latched address replaces the latched one at once when the
      latched SSRC has been silent for ``ssrc_change_after`` seconds;
    * a different SSRC from another port of the latched host replaces address and SSRC
      after two sequential packets (RFC 3550 appendix A.1 probation) once the latched
      stream has been silent for ``ssrc_change_after`` seconds: the phone restarted its
      media, likely behind a new NAT mapping, and its old stream stopped. While the phone
      talks, nobody else behind its NAT (or on its host) takes the leg over, to hear the
      room and drown the phone's digits (issue 14, "RTP bleed"). A lone packet or a jumble
      of sequence numbers never does, nor the SSRC it replaced (two streams at once must
      not make the leg flap between them);
    * the latched SSRC from another port moves the address there only once the latched
      port has been silent for ``port_change_after`` seconds.

    ``now`` is any monotonic clock in seconds.
    """

    expected: Address | None = None
    #: Hosts the first packet may come from, any port (symmetric RTP, RFC 4961): the SDP's
    #: and the signalling peer's. A phone behind NAT without STUN puts its private address
    #: in the SDP and sends from its router's; the first packet from one of these hosts
    #: latches the leg, and no stranger's packet ever does (issue 13).
    latch_hosts: frozenset[str] = frozenset()
    ssrc_change_after: float = 0.5
    port_change_after: float = 1.0
    address: Address | None = None
    ssrc: int | None = None
    last_accepted: float | None = None
    accepted_count: int = 0
    foreign_address_count: int = 0
    foreign_ssrc_count: int = 0
    #: How often the leg moved to a new address or SSRC after the first latch.
    relatch_count: int = 0
    #: A new stream on probation: (SSRC, source, last sequence number).
    _candidate: tuple[int, Address, int] | None = None
    #: The SSRC the last re-latch replaced: it gets no probation back.
    _retired: int | None = None

    def __post_init__(self) -> None:
        if self.expected is not None and self.address is None:
            self.address = self.expected

    def expect(self, address: Address | None, latch_hosts: frozenset[str] = frozenset()) -> None:
        """The remote SDP changed (re-INVITE): latch ``address`` (or relatch on the next
        packet if None; with ``latch_hosts``, on the next packet from one of them) and
        accept whatever SSRC it sends next."""
        self.expected = address
        self.latch_hosts = latch_hosts
        self.address = None if latch_hosts else address
        self.ssrc = None
        self._candidate = None
        self._retired = None

    def _silent(self, now: float, after: float) -> bool:
        return self.last_accepted is None or now - self.last_accepted >= after

    def _on_probation(self, packet: RtpPacket, source: Address) -> bool:
        """Whether this packet completes a new stream's probation (two in sequence)."""
        if packet.ssrc == self._retired:
            return False
        candidate = self._candidate
        if (
            candidate is not None
            and candidate[0] == packet.ssrc
            and candidate[1] == source
            and packet.sequence == (candidate[2] + 1) & 0xFFFF
        ):
            self._candidate = None
            return True
        self._candidate = (packet.ssrc, source, packet.sequence)
        return False

    def check(self, packet: RtpPacket, source: Address, now: float) -> Verdict:
        if self.address is None and self.latch_hosts and source[0] not in self.latch_hosts:
            self.foreign_address_count += 1
            return Verdict.FOREIGN_ADDRESS
        verdict = Verdict.ACCEPT
        if self.address is None:
            self.address = source
        elif source[0] != self.address[0] or (self.ssrc is None and source != self.address):
            # another host; or, before any packet latched, another port than the SDP's
            self.foreign_address_count += 1
            return Verdict.FOREIGN_ADDRESS
        elif source != self.address:
            # the latched host from another port: a new NAT mapping, or someone else
            # behind the same router
            if packet.ssrc == self.ssrc and self._silent(now, self.port_change_after):
                self.address = source
                self.relatch_count += 1
            elif (
                packet.ssrc != self.ssrc
                and self._silent(now, self.ssrc_change_after)
                and self._on_probation(packet, source)
            ):
                self.address = source
                self._replace(packet.ssrc)
                verdict = Verdict.NEW_SOURCE
            else:
                self.foreign_address_count += 1
                return Verdict.FOREIGN_ADDRESS
        if self.ssrc is None:
            self.ssrc = packet.ssrc
            verdict = Verdict.NEW_SOURCE
        elif packet.ssrc != self.ssrc:
            if not (
                self._silent(now, self.ssrc_change_after) or self._on_probation(packet, source)
            ):
                self.foreign_ssrc_count += 1
                return Verdict.FOREIGN_SSRC
            self._replace(packet.ssrc)
            verdict = Verdict.NEW_SOURCE
        self.last_accepted = now
        self.accepted_count += 1
        return verdict

    def _replace(self, ssrc: int) -> None:
        self._retired = self.ssrc
        self.ssrc = ssrc
        self._candidate = None
        self.relatch_count += 1
