"""Minimal RTCP (RFC 3550 section 6): compound packet parsing and the reports we send.

Why: SIP phones and gateways expect RTCP receiver reports to judge a call's quality and
some hang up on a stream that never reports; and their reports and BYE tell us about the
path to them. A phone leg needs only a small part of RTCP:

* :func:`parse_compound` splits a compound datagram (section 6.1) into SR (6.4.1),
  RR (6.4.2), SDES (6.5) and BYE (6.6) packets; any other type (APP, RTPFB/PSFB feedback,
  XR) is kept as :class:`UnknownRtcp`. Malformed input raises :class:`RtcpError` and no
  other exception.
* :class:`ReceiverStats` keeps what a receiver must know about one source to fill a
  report block: sequence validity and extended highest sequence number (appendix A.1),
  expected/lost counts and the fraction lost since the last report (A.3), the interarrival
  jitter estimate (A.8) and the LSR/DLSR pair from the source's last SR (6.4.1).
* :func:`build_receiver_report`, :func:`build_sender_report` and :func:`build_bye` make
  the compound packets we send: every one starts with SR or RR and carries an SDES CNAME,
  as section 6.1 requires; BYE comes last.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

__all__ = [
    "NTP_EPOCH_OFFSET",
    "Bye",
    "ReceiverReport",
    "ReceiverStats",
    "ReportBlock",
    "RtcpError",
    "RtcpPacket",
    "SdesChunk",
    "SenderReport",
    "SourceDescription",
    "UnknownRtcp",
    "build_bye",
    "build_compound",
    "build_receiver_report",
    "build_sender_report",
    "ntp_timestamp",
    "parse_compound",
]

PT_SR: Final = 200
PT_RR: Final = 201
PT_SDES: Final = 202
PT_BYE: Final = 203
SDES_CNAME: Final = 1

#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
NTP_EPOCH_OFFSET: Final = 2_208_988_800

_COMMON: Final = struct.Struct("!BBH")
_BLOCK: Final = struct.Struct("!IIIIII")
_SENDER_INFO: Final = struct.Struct("!IQIII")  # ssrc, ntp, rtp ts, packets, octets


class RtcpError(ValueError):
    """A datagram is not well-formed RTCP, or a field is out of range."""


def _u32(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise RtcpError(f"{name} out of 32-bit range")


def ntp_timestamp(unix_seconds: float) -> int:
    """64-bit NTP timestamp (32.32 fixed point since 1900) for a Unix time."""
    return round((unix_seconds + NTP_EPOCH_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block (RFC 3550 section 6.4.1)."""

    ssrc: int
    fraction_lost: int = 0  #: lost since the last report, as a fraction of 256
    cumulative_lost: int = 0  #: signed 24 bits (duplicates can make it negative)
    highest_sequence: int = 0  #: extended highest sequence number received
    jitter: int = 0  #: interarrival jitter in timestamp units
    last_sr: int = 0  #: middle 32 bits of the last SR's NTP timestamp, 0 if none
    delay_since_last_sr: int = 0  #: in units of 1/65536 s

    def __post_init__(self) -> None:
        for name in ("ssrc", "highest_sequence", "jitter", "last_sr", "delay_since_last_sr"):
            _u32(name, getattr(self, name))
        if not 0 <= self.fraction_lost <= 255:
            raise RtcpError("fraction lost out of range")
        if not -(1 << 23) <= self.cumulative_lost < (1 << 23):
            raise RtcpError("cumulative lost out of 24-bit range")

    @classmethod
    def _parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 1 << 24
        return cls(ssrc, lost >> 24, cumulative, highest, jitter, lsr, dlsr)

    def _pack(self) -> bytes:
        lost = (self.fraction_lost << 24) | (self.cumulative_lost & 0xFFFFFF)
        return _BLOCK.pack(
            self.ssrc,
            lost,
            self.highest_sequence,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        )


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    if len(body) % 4:
        raise RtcpError("RTCP packet body must be a whole number of 32-bit words")
    words = len(body) // 4  # length field = total words - 1 = body words
    if words > 0xFFFF:
        raise RtcpError("RTCP packet too long")
    return _COMMON.pack(0x80 | count, packet_type, words) + body


def _check_blocks(reports: tuple[ReportBlock, ...]) -> None:
    if len(reports) > 31:
        raise RtcpError("at most 31 report blocks per packet")


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR: a sender's clocks and counts plus reception report blocks (section 6.4.1)."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def __post_init__(self) -> None:
        for name in ("ssrc", "rtp_timestamp", "packet_count", "octet_count"):
            _u32(name, getattr(self, name))
        if not 0 <= self.ntp_timestamp <= 0xFFFFFFFFFFFFFFFF:
            raise RtcpError("NTP timestamp out of 64-bit range")
        _check_blocks(self.reports)

    def to_bytes(self) -> bytes:
        body = _SENDER_INFO.pack(
            self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        ) + b"".join(r._pack() for r in self.reports)
        return _header(len(self.reports), PT_SR, body)


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR: reception report blocks from a participant that sent nothing (section 6.4.2)."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def __post_init__(self) -> None:
        _u32("ssrc", self.ssrc)
        _check_blocks(self.reports)

    def to_bytes(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(r._pack() for r in self.reports)
        return _header(len(self.reports), PT_RR, body)


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One SDES chunk: a source and its ``(item type, value)`` items (1 = CNAME)."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...] = ()

    def __post_init__(self) -> None:
        _u32("ssrc", self.ssrc)
        for kind, value in self.items:
            if not 1 <= kind <= 255 or len(value) > 255:
                raise RtcpError("SDES item type must be 1..255 and value at most 255 octets")

    @property
    def cname(self) -> str | None:
        for kind, value in self.items:
            if kind == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None

    def _pack(self) -> bytes:
        out = bytearray(struct.pack("!I", self.ssrc))
        for kind, value in self.items:
            out += bytes((kind, len(value))) + value
        out += b"\x00"  # END item
        out += bytes(-len(out) % 4)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES (section 6.5)."""

    chunks: tuple[SdesChunk, ...] = ()

    def __post_init__(self) -> None:
        if len(self.chunks) > 31:
            raise RtcpError("at most 31 SDES chunks per packet")

    def to_bytes(self) -> bytes:
        return _header(len(self.chunks), PT_SDES, b"".join(c._pack() for c in self.chunks))


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE: the sources are leaving, optionally with a reason (section 6.6)."""

    ssrcs: tuple[int, ...]
    reason: str | None = None

    def __post_init__(self) -> None:
        if len(self.ssrcs) > 31:
            raise RtcpError("at most 31 SSRCs per BYE")
        for s in self.ssrcs:
            _u32("ssrc", s)
        if self.reason is not None and len(self.reason.encode()) > 255:
            raise RtcpError("BYE reason longer than 255 octets")

    def to_bytes(self) -> bytes:
        body = b"".join(struct.pack("!I", s) for s in self.ssrcs)
        if self.reason is not None:
            text = self.reason.encode()
            body += bytes((len(text),)) + text
            body += bytes(-len(body) % 4)
        return _header(len(self.ssrcs), PT_BYE, body)


@dataclass(frozen=True, slots=True)
class UnknownRtcp:
    """Any other RTCP packet (APP, feedback, XR): type, count/format field and body."""

    packet_type: int
    count: int
    body: bytes

    def to_bytes(self) -> bytes:
        return _header(self.count & 0x1F, self.packet_type, self.body)


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | UnknownRtcp


def _parse_blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if offset + count * _BLOCK.size > len(body):
        raise RtcpError("report blocks run past the packet")
    return tuple(ReportBlock._parse(body, offset + i * _BLOCK.size) for i in range(count))


def _parse_sdes(body: bytes, count: int) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(body):
            raise RtcpError("SDES chunk runs past the packet")
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        items = []
        while True:
            if offset >= len(body):
                raise RtcpError("SDES chunk without END item")
            kind = body[offset]
            if kind == 0:
                offset += 1
                offset += -offset % 4  # chunks start on 32-bit boundaries
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                raise RtcpError("SDES item runs past the packet")
            length = body[offset + 1]
            items.append((kind, body[offset + 2 : offset + 2 + length]))
            offset += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _parse_bye(body: bytes, count: int) -> Bye:
    if 4 * count > len(body):
        raise RtcpError("BYE SSRC list runs past the packet")
    ssrcs = struct.unpack_from(f"!{count}I", body, 0) if count else ()
    reason = None
    offset = 4 * count
    if offset < len(body):
        length = body[offset]
        if offset + 1 + length > len(body):
            raise RtcpError("BYE reason runs past the packet")
        reason = body[offset + 1 : offset + 1 + length].decode("utf-8", "replace")
    return Bye(tuple(ssrcs), reason)


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    if packet_type == PT_SR:
        if len(body) < _SENDER_INFO.size:
            raise RtcpError("SR shorter than its sender info")
        ssrc, ntp, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(body)
        blocks = _parse_blocks(body, _SENDER_INFO.size, count)
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, blocks)
    if packet_type == PT_RR:
        if len(body) < 4:
            raise RtcpError("RR shorter than its SSRC")
        (ssrc,) = struct.unpack_from("!I", body)
        return ReceiverReport(ssrc, _parse_blocks(body, 4, count))
    if packet_type == PT_SDES:
        return _parse_sdes(body, count)
    if packet_type == PT_BYE:
        return _parse_bye(body, count)
    return UnknownRtcp(packet_type, count, body)


def parse_compound(data: bytes | bytearray | memoryview) -> list[RtcpPacket]:
    """Split and parse a compound RTCP datagram; raises only :class:`RtcpError`.

    Profile-specific extensions after the report blocks of an SR/RR are ignored (6.4.1).
    """
    data = bytes(data)
    if len(data) < _COMMON.size:
        raise RtcpError("datagram shorter than an RTCP header")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if offset + _COMMON.size > len(data):
            raise RtcpError("trailing octets after the last RTCP packet")
        b0, packet_type, words = _COMMON.unpack_from(data, offset)
        if b0 >> 6 != 2:
            raise RtcpError(f"RTCP version {b0 >> 6}, expected 2")
        if not 192 <= packet_type <= 223:
            raise RtcpError(f"packet type {packet_type} is not RTCP")
        end = offset + 4 * (words + 1)
        if end > len(data):
            raise RtcpError("RTCP packet length runs past the datagram")
        body = data[offset + _COMMON.size : end]
        if b0 & 0x20:
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise RtcpError("bad RTCP padding count")
            body = body[: len(body) - pad]
        packets.append(_parse_one(packet_type, b0 & 0x1F, body))
        offset = end
    return packets


def build_compound(*packets: RtcpPacket) -> bytes:
    """Concatenate packets into one compound datagram."""
    return b"".join(p.to_bytes() for p in packets)


def _sdes(ssrc: int, cname: str) -> SourceDescription:
    return SourceDescription((SdesChunk(ssrc, ((SDES_CNAME, cname.encode()),)),))


def build_receiver_report(ssrc: int, cname: str, reports: tuple[ReportBlock, ...] = ()) -> bytes:
    """Compound RR + SDES CNAME, what a leg that receives but does not send reports."""
    return build_compound(ReceiverReport(ssrc, reports), _sdes(ssrc, cname))


def build_sender_report(report: SenderReport, cname: str) -> bytes:
    """Compound SR + SDES CNAME."""
    return build_compound(report, _sdes(report.ssrc, cname))


def build_bye(
    ssrc: int, cname: str, reason: str | None = None, reports: tuple[ReportBlock, ...] = ()
) -> bytes:
    """Compound RR + SDES CNAME + BYE, sent when a leg's stream ends (section 6.6)."""
    return build_compound(ReceiverReport(ssrc, reports), _sdes(ssrc, cname), Bye((ssrc,), reason))


class ReceiverStats:
    """Reception statistics for one source, per RFC 3550 appendices A.1, A.3 and A.8.

    Call :meth:`update` for every RTP packet of the source (pass ``timestamp=None`` for
    packets whose timestamp is not a sampling instant, such as RFC 4733 events, so they do
    not disturb the jitter estimate), :meth:`on_sender_report` for each SR it sends, and
    :meth:`report_block` when a report is due. Times are seconds on a monotonic clock.
    """

    MAX_DROPOUT: Final = 3000
    MAX_MISORDER: Final = 100
    SEQ_MOD: Final = 1 << 16

    def __init__(self, ssrc: int, clock_rate: int, *, min_sequential: int = 1) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.min_sequential = min_sequential
        self.probation = min_sequential
        self.started = False
        self.max_seq = 0
        self.cycles = 0
        self.base_seq = 0
        self.bad_seq = self.SEQ_MOD + 1
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0
        self._transit: int | None = None
        self._jitter = 0.0
        self._last_sr: int = 0
        self._last_sr_arrival: float | None = None

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = self.SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def _update_seq(self, seq: int) -> bool:
        """Appendix A.1 ``update_seq``: False while on probation or for a wild jump."""
        if not self.started:
            self.started = True
            if self.min_sequential <= 1:
                self._init_seq(seq)
                self.probation = 0
                self.received = 1
                return True
            self._init_seq(seq)
            self.max_seq = (seq - 1) & 0xFFFF
            self.probation = self.min_sequential
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = self.min_sequential - 1
                self.max_seq = seq
            return False
        if udelta < self.MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += self.SEQ_MOD
            self.max_seq = seq
        elif udelta <= self.SEQ_MOD - self.MAX_MISORDER:
            if seq == self.bad_seq:
                self._init_seq(seq)  # the source restarted its sequence: resync
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                return False
        # else: duplicate or reordered packet
        self.received += 1
        return True

    def update(self, sequence: int, timestamp: int | None, arrival: float) -> bool:
        """Account one packet; returns whether A.1 considers it valid."""
        valid = self._update_seq(sequence)
        if valid and timestamp is not None:
            arrival_units = round(arrival * self.clock_rate)
            transit = (arrival_units - timestamp) & 0xFFFFFFFF
            if self._transit is not None:
                d = (transit - self._transit) & 0xFFFFFFFF
                if d >= 1 << 31:
                    d = (1 << 32) - d
                self._jitter += (d - self._jitter) / 16.0
            self._transit = transit
        return valid

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1 if self.received else 0

    @property
    def lost(self) -> int:
        return self.expected - self.received

    @property
    def jitter(self) -> float:
        """Interarrival jitter estimate in timestamp units (A.8)."""
        return self._jitter

    def on_sender_report(self, report: SenderReport, arrival: float) -> None:
        """Remember the middle 32 bits of its NTP time for LSR and when it came, for DLSR."""
        self._last_sr = (report.ntp_timestamp >> 16) & 0xFFFFFFFF
        self._last_sr_arrival = arrival

    def report_block(self, now: float) -> ReportBlock:
        """A report block for this source; starts a new interval for ``fraction_lost``."""
        expected = self.expected
        lost = max(-(1 << 23), min(self.lost, (1 << 23) - 1))
        expected_interval = expected - self.expected_prior
        self.expected_prior = expected
        received_interval = self.received - self.received_prior
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        dlsr = 0
        if self._last_sr_arrival is not None:
            dlsr = min(0xFFFFFFFF, max(0, int((now - self._last_sr_arrival) * 65536)))
        return ReportBlock(
            ssrc=self.ssrc,
            fraction_lost=fraction,
            cumulative_lost=lost,
            highest_sequence=self.extended_max & 0xFFFFFFFF,
            jitter=min(int(self._jitter), 0xFFFFFFFF),
            last_sr=self._last_sr,
            delay_since_last_sr=dlsr,
        )
