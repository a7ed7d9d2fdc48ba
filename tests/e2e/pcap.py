"""RTP streams for sipp's ``play_pcap_audio``: build them in Python, write classic pcap files.

sipp 3.6 reads the file with libpcap and accepts only the link types DLT_EN10MB (1,
Ethernet) and DLT_LINUX_SLL (113); anything else (DLT_RAW included) is a fatal
"Unsupported link-type". Of each IPv4/IPv6 UDP packet it keeps the UDP header and
payload (the length comes from the UDP header) and replays them with the capture's
timing, rewriting addresses and ports: the destination becomes the media address of the
peer's SDP, the source port the ``-mp`` media port (plus the packet's destination port
minus the lowest destination port in the file, so keep one destination port). The RTP
headers go out unchanged, so the file itself must carry a sane stream: one SSRC, sequence
numbers and timestamps that increase across the whole file. :class:`Stream` builds one::

    Stream().silence(1.0).digits("1").silence(0.5).digits("123456#").tone(1000, 20).write(p)

:func:`read_pcap` reads such a file back (and sipp's own captures) for checks.
"""

from __future__ import annotations

import ipaddress
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from confero.media.dtmf import DtmfSender, event_for_digit
from confero.media.g711 import PCMU, G711Codec
from confero.media.rtp import RtpPacket, RtpSender
from confero.media.tone import sine

__all__ = [
    "DLT_EN10MB",
    "DLT_LINUX_SLL",
    "DLT_RAW",
    "CapturedPacket",
    "Stream",
    "TimedPacket",
    "decode_audio",
    "pcap_duration",
    "read_pcap",
    "read_rtp",
    "rtp_events",
    "rtp_silence",
    "rtp_tone",
    "write_pcap",
]

DLT_EN10MB: Final = 1
DLT_RAW: Final = 101
DLT_LINUX_SLL: Final = 113

CLOCK_RATE: Final = 8000
FRAME: Final = 0.02  #: 20 ms audio frames
_FRAME_SAMPLES: Final = round(FRAME * CLOCK_RATE)

_PCAP_MAGIC_US: Final = 0xA1B2C3D4
_PCAP_MAGIC_NS: Final = 0xA1B23C4D
_GLOBAL: Final = struct.Struct("<IHHiIII")
_RECORD: Final = struct.Struct("<IIII")
_ETHERTYPE_IPV4: Final = 0x0800
_ETHERTYPE_IPV6: Final = 0x86DD
_SRC_MAC: Final = bytes.fromhex("020000000001")  # locally administered
_DST_MAC: Final = bytes.fromhex("020000000002")
#: capture time of a stream's start: any fixed time works, sipp only uses differences
DEFAULT_EPOCH: Final = 1_700_000_000.0

Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class TimedPacket:
    """An RTP packet and when to send it, in seconds from the stream's start."""

    at: float
    packet: RtpPacket


# -- segments ------------------------------------------------------------------------------


def _sender(sender: RtpSender | None, payload_type: int) -> RtpSender:
    return sender if sender is not None else RtpSender(payload_type)


def rtp_events(
    digits: str,
    *,
    payload_type: int = 101,
    duration: float = 0.16,
    gap: float = 0.1,
    update_interval: float = 0.05,
    volume: int = 10,
    sender: RtpSender | None = None,
    start: float = 0.0,
) -> list[TimedPacket]:
    """RFC 4733 telephone events, one key press per digit (0-9, *, #, A-D).

    Each press: the start packet (marker bit) and updates every ``update_interval`` with
    the growing duration for ``duration`` seconds, then the final packet (E bit, full
    duration) three times ``update_interval`` apart, all with the press's start timestamp
    (the first packet leaves ``update_interval`` after the press began, the time its
    duration reports); after the last one ``gap`` seconds of nothing. The sender's clock
    follows the wall clock, so each press (even of the same key) has a new timestamp and
    audio after it continues in step.
    ``start`` is the time of the first packet; the stream's clock is ``sender``'s.
    """
    for digit in digits:
        event_for_digit(digit)  # raises DtmfError for anything that is not a key
    rtp = _sender(sender, payload_type)
    dtmf = DtmfSender(
        payload_type=payload_type,
        clock_rate=CLOCK_RATE,
        volume=volume,
        update_interval=update_interval,
    )
    out: list[TimedPacket] = []
    t = start
    for digit in digits:
        # the tone starts at t (the event's timestamp); the first packet goes out once
        # update_interval of it has passed, reporting that duration
        schedule = dtmf.schedule(digit, duration)
        event_ts = rtp.timestamp
        for item in schedule:
            out.append(TimedPacket(t + item.at, item.stamp(rtp, event_ts, payload_type)))
        elapsed = schedule[-1].at + gap
        # the press took `elapsed` of wall clock: move the media clock on by as much, so
        # the next press gets a new timestamp and audio after it is in step
        rtp.pause(round(elapsed * CLOCK_RATE))
        t += elapsed
    return out


def _frames(
    samples: np.ndarray,
    *,
    codec: G711Codec,
    payload_type: int,
    sender: RtpSender | None,
    start: float,
) -> list[TimedPacket]:
    rtp = _sender(sender, payload_type)
    out = []
    for i in range(0, len(samples) - _FRAME_SAMPLES + 1, _FRAME_SAMPLES):
        frame = samples[i : i + _FRAME_SAMPLES]
        packet = rtp.next(codec.encode(frame), _FRAME_SAMPLES, payload_type=payload_type)
        out.append(TimedPacket(start + (i / CLOCK_RATE), packet))
    return out


def rtp_tone(
    frequency: float,
    seconds: float,
    *,
    payload_type: int = 0,
    amplitude: float = 0.5,
    codec: G711Codec = PCMU,
    sender: RtpSender | None = None,
    start: float = 0.0,
) -> list[TimedPacket]:
    """``seconds`` (whole 20 ms frames) of a sine, G.711 encoded (µ-law by default)."""
    n = round(seconds / FRAME) * _FRAME_SAMPLES
    samples = sine(frequency, n / CLOCK_RATE, CLOCK_RATE, amplitude=amplitude)
    return _frames(samples, codec=codec, payload_type=payload_type, sender=sender, start=start)


def rtp_silence(
    seconds: float,
    *,
    payload_type: int = 0,
    codec: G711Codec = PCMU,
    sender: RtpSender | None = None,
    start: float = 0.0,
) -> list[TimedPacket]:
    """``seconds`` (whole 20 ms frames) of digital silence, sent as audio frames."""
    n = round(seconds / FRAME) * _FRAME_SAMPLES
    samples = np.zeros(n, dtype=np.int16)
    return _frames(samples, codec=codec, payload_type=payload_type, sender=sender, start=start)


@dataclass
class Stream:
    """One RTP stream (one SSRC, increasing sequence numbers and timestamps) built from
    segments laid end to end in time. Every method returns the stream, to chain."""

    audio_payload_type: int = 0
    event_payload_type: int = 101
    codec: G711Codec = PCMU
    sender: RtpSender | None = None
    packets: list[TimedPacket] = field(default_factory=list)
    #: time of the end of the last segment, where the next one starts
    cursor: float = 0.0

    def __post_init__(self) -> None:
        if self.sender is None:
            self.sender = RtpSender(self.audio_payload_type)

    @property
    def _rtp(self) -> RtpSender:
        assert self.sender is not None
        return self.sender

    def _add(self, packets: list[TimedPacket], seconds: float) -> Stream:
        self.packets += packets
        self.cursor += seconds
        return self

    def silence(self, seconds: float) -> Stream:
        """Audio frames of silence (the RTP keeps flowing)."""
        packets = rtp_silence(
            seconds,
            payload_type=self.audio_payload_type,
            codec=self.codec,
            sender=self._rtp,
            start=self.cursor,
        )
        return self._add(packets, len(packets) * FRAME)

    def pause(self, seconds: float) -> Stream:
        """No packets at all for ``seconds`` (silence suppression); the clock moves on."""
        self._rtp.pause(round(seconds * CLOCK_RATE))
        self.cursor += seconds
        return self

    def tone(self, frequency: float, seconds: float, *, amplitude: float = 0.5) -> Stream:
        packets = rtp_tone(
            frequency,
            seconds,
            payload_type=self.audio_payload_type,
            amplitude=amplitude,
            codec=self.codec,
            sender=self._rtp,
            start=self.cursor,
        )
        return self._add(packets, len(packets) * FRAME)

    def digits(self, digits: str, *, duration: float = 0.16, gap: float = 0.1) -> Stream:
        """RFC 4733 key presses (see :func:`rtp_events`)."""
        before = self._rtp.timestamp
        packets = rtp_events(
            digits,
            payload_type=self.event_payload_type,
            duration=duration,
            gap=gap,
            sender=self._rtp,
            start=self.cursor,
        )
        seconds = ((self._rtp.timestamp - before) & 0xFFFFFFFF) / CLOCK_RATE
        return self._add(packets, seconds)

    @property
    def duration(self) -> float:
        """Seconds from the first packet to the end of the last segment."""
        return self.cursor

    def write(
        self,
        path: str | Path,
        *,
        src: Endpoint = ("127.0.0.1", 16000),
        dst: Endpoint = ("127.0.0.1", 6000),
        epoch: float = DEFAULT_EPOCH,
    ) -> Path:
        write_pcap(path, ((p.at, p.packet) for p in self.packets), src=src, dst=dst, epoch=epoch)
        return Path(path)


# -- pcap writing --------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(address: str) -> bytes:
    parts = [int(p) for p in address.split(".")]
    if len(parts) != 4 or not all(0 <= p <= 255 for p in parts):
        raise ValueError(f"not an IPv4 address: {address!r}")
    return bytes(parts)


def _udp_frame(payload: bytes, src: Endpoint, dst: Endpoint, ident: int) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``, with valid IP and UDP checksums."""
    src_ip, dst_ip = _ipv4(src[0]), _ipv4(dst[0])
    udp_len = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len, 0) + payload
    udp_sum = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", udp_sum) + udp[8:]
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, ident & 0xFFFF, 0x4000, 64, 17, 0, src_ip, dst_ip
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return _DST_MAC + _SRC_MAC + struct.pack("!H", _ETHERTYPE_IPV4) + ip + udp


def write_pcap(
    path: str | Path,
    packets: Iterable[tuple[float, RtpPacket | bytes]],
    *,
    src: Endpoint = ("127.0.0.1", 16000),
    dst: Endpoint = ("127.0.0.1", 6000),
    epoch: float = DEFAULT_EPOCH,
) -> Path:
    """A classic (microsecond) libpcap file, link type Ethernet, one UDP datagram per
    ``(seconds from start, RTP packet or raw payload)``, captured at ``epoch + seconds``.
    Times must not decrease (sipp sends a packet that seems earlier at once)."""
    out = [_GLOBAL.pack(_PCAP_MAGIC_US, 2, 4, 0, 0, 65535, DLT_EN10MB)]
    last = -math.inf
    for ident, (at, packet) in enumerate(packets):
        if at < last:
            raise ValueError(f"packet times go back from {last} to {at}")
        last = at
        payload = packet.to_bytes() if isinstance(packet, RtpPacket) else bytes(packet)
        frame = _udp_frame(payload, src, dst, ident)
        usec_total = round((epoch + at) * 1_000_000)
        sec, usec = divmod(usec_total, 1_000_000)
        out.append(_RECORD.pack(sec, usec, len(frame), len(frame)))
        out.append(frame)
    target = Path(path)
    target.write_bytes(b"".join(out))
    return target


# -- pcap reading --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    """A UDP datagram of a capture: capture time (seconds since the epoch), addresses."""

    time: float
    src: Endpoint
    dst: Endpoint
    payload: bytes


def _ip_udp(data: bytes, ethertype: int) -> tuple[Endpoint, Endpoint, bytes] | None:
    if ethertype == _ETHERTYPE_IPV4 and len(data) >= 20 and data[0] >> 4 == 4:
        ihl = (data[0] & 0x0F) * 4
        if data[9] != 17:
            return None
        src_ip = ".".join(str(b) for b in data[12:16])
        dst_ip = ".".join(str(b) for b in data[16:20])
        udp = data[ihl:]
    elif ethertype == _ETHERTYPE_IPV6 and len(data) >= 40 and data[0] >> 4 == 6:
        if data[6] != 17:
            return None
        src_ip = str(ipaddress.IPv6Address(data[8:24]))
        dst_ip = str(ipaddress.IPv6Address(data[24:40]))
        udp = data[40:]
    else:
        return None
    if len(udp) < 8:
        return None
    sport, dport, length, _ = struct.unpack_from("!HHHH", udp)
    return (src_ip, sport), (dst_ip, dport), udp[8:length]


def read_pcap(path: str | Path) -> list[CapturedPacket]:
    """The UDP datagrams of a classic pcap file (either byte order, µs or ns timestamps;
    link types Ethernet, Linux cooked and raw IP)."""
    data = Path(path).read_bytes()
    if len(data) < _GLOBAL.size:
        raise ValueError("too short for a pcap file")
    magic = struct.unpack_from("<I", data)[0]
    if magic in (_PCAP_MAGIC_US, _PCAP_MAGIC_NS):
        endian = "<"
    else:
        endian = ">"
        magic = struct.unpack_from(">I", data)[0]
        if magic not in (_PCAP_MAGIC_US, _PCAP_MAGIC_NS):
            raise ValueError(f"not a classic pcap file (magic {magic:#x})")
    scale = 1e-9 if magic == _PCAP_MAGIC_NS else 1e-6
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    record = struct.Struct(endian + "IIII")
    offset = _GLOBAL.size
    out: list[CapturedPacket] = []
    while offset + record.size <= len(data):
        sec, frac, incl, _orig = record.unpack_from(data, offset)
        offset += record.size
        frame = data[offset : offset + incl]
        offset += incl
        if linktype == DLT_EN10MB and len(frame) >= 14:
            parsed = _ip_udp(frame[14:], struct.unpack_from("!H", frame, 12)[0])
        elif linktype == DLT_LINUX_SLL and len(frame) >= 16:
            parsed = _ip_udp(frame[16:], struct.unpack_from("!H", frame, 14)[0])
        elif linktype == DLT_RAW and frame:
            version = frame[0] >> 4
            parsed = _ip_udp(frame, _ETHERTYPE_IPV4 if version == 4 else _ETHERTYPE_IPV6)
        else:
            raise ValueError(f"unsupported link type {linktype}")
        if parsed is not None:
            src, dst, payload = parsed
            out.append(CapturedPacket(sec + frac * scale, src, dst, payload))
    return out


def read_rtp(path: str | Path) -> list[TimedPacket]:
    """The RTP packets of a capture, timed from its first packet."""
    captured = read_pcap(path)
    if not captured:
        return []
    t0 = captured[0].time
    return [TimedPacket(c.time - t0, RtpPacket.parse(c.payload)) for c in captured]


def pcap_duration(path: str | Path) -> float:
    """Seconds from a capture's first packet to its last."""
    captured = read_pcap(path)
    return captured[-1].time - captured[0].time if captured else 0.0


def decode_audio(
    packets: Sequence[TimedPacket | RtpPacket], *, payload_type: int = 0, codec: G711Codec = PCMU
) -> np.ndarray:
    """The samples of the packets of ``payload_type``, concatenated in order."""
    chunks = [
        codec.decode(p.payload)
        for p in (t.packet if isinstance(t, TimedPacket) else t for t in packets)
        if p.payload_type == payload_type
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
