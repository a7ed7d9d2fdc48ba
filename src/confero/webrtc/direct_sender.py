"""Writing an aiortc sender's RTP ourselves, synchronously (issue 15 P2, P3).

Why our own sending: aiortc's ``RTCRtpSender`` takes each frame from its track through
a queue and a task wake-up, wraps it in an ``av.Packet``, builds an ``RtpPacket`` object
per packet and sends it through five awaits (DTLS, ICE, aioice), reading the clock
through ``datetime`` twice a packet. For media that is already encoded (a room's Opus
mix, a forwarded camera) none of that is needed: the packets are written from a header
template, SRTP-protected and handed to the nominated ICE pair's socket in one pass, by
whoever has the payload (the media tick, the publisher's frame).

aiortc keeps everything else of the connection: ICE, DTLS, the RTCP sender reports (we
feed the counters it reads), NACK retransmission (we feed its packet history) and
PLI/FIR. It has no public API for any of this; the names used are aiortc 1.16's, and
the tests that decode what we send (aiortc's own decoders in tests/webrtc, Chromium in
tests/e2e) fail if they change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Sequence
from typing import Any

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensions, RtpPacket
from aiortc.utils import random32

log = logging.getLogger(__name__)
#: Seconds from 1900 (NTP's epoch) to 1970 (Unix's).
NTP_OFFSET = 2_208_988_800
_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
_PRIVATE = "_RTCRtpSender__"


def ntp_now() -> int:
    """The wall clock as a 64-bit NTP timestamp (aiortc's goes through ``datetime``)."""
    return int((time.time() + NTP_OFFSET) * (1 << 32))


class DirectRtpSender:
    """Takes the place of an aiortc sender's RTP loop (``_run_rtp``, started by aiortc
    once the answer is applied); until that loop has started and DTLS is up it sends
    nothing and says so."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._started = False
        self._payload_type = 0
        self._ssrc = sender._ssrc
        self._sequence = random_sequence_number()
        self._timestamp_origin = random32()
        self._mid: str | None = None
        self._extension = b""
        self._abs_send_time_at: int | None = None
        #: aiortc's packet history, which its NACK handling retransmits from
        self._history: dict[int, RtpPacket] = getattr(sender, f"{_PRIVATE}rtp_history")
        self.packets = 0
        sender._run_rtp = self._run  # type: ignore[method-assign]

    async def _run(self, codec: RTCRtpCodecParameters) -> None:
        """Stands in for aiortc's RTP loop: set up, then wait to be cancelled."""
        sender = self._sender
        getattr(sender, f"{_PRIVATE}rtp_started").set()
        assert codec.payloadType is not None, "a negotiated codec has a payload type"
        self._payload_type = codec.payloadType
        self._mid = getattr(sender, f"{_PRIVATE}mid")
        self._template(getattr(sender, f"{_PRIVATE}rtp_header_extensions_map"))
        self._started = True
        try:
            await asyncio.Event().wait()  # until the sender stops (it cancels this task)
        finally:
            self._started = False
            getattr(sender, f"{_PRIVATE}rtp_exited").set()

    def _template(self, extensions_map: Any) -> None:
        """The header extension block (mid, abs-send-time as negotiated), and where in it
        the abs-send-time goes: found by writing it twice with different values."""
        profile, zero = extensions_map.set(HeaderExtensions(mid=self._mid, abs_send_time=0))
        _, ones = extensions_map.set(HeaderExtensions(mid=self._mid, abs_send_time=0xFFFFFF))
        if not profile:
            self._extension, self._abs_send_time_at = b"", None
            return
        head = _EXTENSION_HEADER.pack(profile, len(zero) // 4)
        self._extension = head + zero
        differ = [i for i, (a, b) in enumerate(zip(zero, ones, strict=True)) if a != b]
        self._abs_send_time_at = len(head) + differ[0] if differ else None

    def _route(self) -> tuple[Any, Any, tuple[str, int]] | None:
        """(SRTP session, send function, address) once DTLS is up and ICE has a pair."""
        if not self._started:
            return None
        dtls = self._sender.transport
        srtp = dtls._tx_srtp
        if srtp is None or dtls.state != "connected":
            return None
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None or pair.protocol.transport is None:
            return None
        return srtp, pair.protocol.transport.sendto, pair.remote_addr

    def ready(self) -> bool:
        return self._route() is not None

    def send_payloads(self, payloads: Sequence[bytes], timestamp: int, *, marker: bool) -> bool:
        """Send one frame's ``payloads`` (``timestamp`` in the codec's clock, from any
        origin: ours is random); ``marker`` on its last packet. False when the
        connection cannot carry them yet (or any more)."""
        route = self._route()
        if route is None:
            return False
        srtp, sendto, address = route
        timestamp = (self._timestamp_origin + timestamp) & 0xFFFFFFFF
        ntp = ntp_now()
        extension = self._extension
        if self._abs_send_time_at is not None:
            at = self._abs_send_time_at
            extension = b"%b%b%b" % (
                extension[:at],
                ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big"),
                extension[at + 3 :],
            )
        first = 0x90 if extension else 0x80  # version 2, extension bit
        history = self._history
        last = len(payloads) - 1
        octets = 0
        for i, payload in enumerate(payloads):
            sequence = self._sequence
            bit = 0x80 if marker and i == last else 0
            header = _HEADER.pack(first, bit | self._payload_type, sequence, timestamp, self._ssrc)
            try:
                sendto(srtp.protect(header + extension + payload), address)
            except Exception:  # the media tick, or a publisher's frames, must never stop
                # over one connection (a closed socket, an SRTP error)
                log.debug("RTP to %s not sent", address, exc_info=True)
                return False
            kept = RtpPacket(self._payload_type, bit >> 7, sequence, timestamp, self._ssrc, payload)
            kept.extensions.mid = self._mid
            history[sequence % RTP_HISTORY_SIZE] = kept  # for NACK (aiortc's _retransmit)
            self._sequence = (sequence + 1) & 0xFFFF
            octets += len(payload)
        self._count(ntp, timestamp, len(payloads), octets)
        return True

    def _count(self, ntp: int, timestamp: int, packets: int, octets: int) -> None:
        """What aiortc's RTCP sender report reads."""
        sender = self._sender
        self.packets += packets
        setattr(sender, f"{_PRIVATE}ntp_timestamp", ntp)
        setattr(sender, f"{_PRIVATE}rtp_timestamp", timestamp)
        with contextlib.suppress(AttributeError):
            name = f"{_PRIVATE}packet_count"
            setattr(sender, name, getattr(sender, name) + packets)
            name = f"{_PRIVATE}octet_count"
            setattr(sender, name, getattr(sender, name) + octets)
