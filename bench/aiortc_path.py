"""What aiortc does with every media packet on its way in and out, run synchronously.

Production hands our packets to aiortc, which packetizes, SRTP-protects and sends them
per connection (``RTCRtpSender._run_rtp`` and ``RTCDtlsTransport._send_rtp``), and
which unprotects, parses, reassembles and decodes what browsers send
(``RTCDtlsTransport._recv_next``, ``RTCRtpReceiver._handle_rtp_packet``). Benchmarks
cannot open hundreds of DTLS connections, so these two classes repeat the per-packet
work of those functions with aiortc's own classes, on a real SRTP session (the
profile aiortc prefers, random keys) and a real loopback UDP socket.

Left out: ICE (aioice's STUN consent checks and its ``sendto`` wrapper), RTCP (reports,
NACK, REMB), the RTP history kept for retransmission, and the hop through aiortc's
decoder thread.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from aiortc.clock import current_ntp_time
from aiortc.codecs import HEADER_EXTENSIONS, depayload
from aiortc.codecs.base import Decoder, Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcdtlstransport import SRTP_PROFILES
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from pylibsrtp import Policy, Session

#: The SRTP profile these figures use: aiortc's first choice.
SRTP_PROFILE = SRTP_PROFILES[0].openssl_profile.decode()


def srtp_pair() -> tuple[Session, Session]:
    """A sending and a receiving SRTP session sharing one random key."""
    profile = SRTP_PROFILES[0]
    key = os.urandom(profile.key_length + profile.salt_length)
    sessions = []
    for ssrc_type in (Policy.SSRC_ANY_OUTBOUND, Policy.SSRC_ANY_INBOUND):
        policy = Policy(key=key, ssrc_type=ssrc_type, srtp_profile=profile.libsrtp_profile)
        policy.allow_repeat_tx = True
        policy.window_size = 1024
        sessions.append(Session(policy))
    return sessions[0], sessions[1]


def extensions_map(kind: str) -> HeaderExtensionsMap:
    """The header extensions aiortc negotiates for ``kind`` ("audio" or "video")."""
    ext = HeaderExtensionsMap()
    ext.configure(RTCRtpParameters(headerExtensions=HEADER_EXTENSIONS[kind]))
    return ext


class UdpSink:
    """A loopback socket pair; the receiving end is never read (the kernel drops)."""

    def __init__(self) -> None:
        self._rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._rx.bind(("127.0.0.1", 0))
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.setblocking(False)
        self.tx.connect(self._rx.getsockname())

    def send(self, data: bytes) -> None:
        try:  # noqa: SIM105 - cheaper per packet than contextlib.suppress
            self.tx.send(data)
        except BlockingIOError:  # a full buffer is a dropped packet, as on a real link
            pass

    def close(self) -> None:
        self.tx.close()
        self._rx.close()


class RtpOut:
    """One sender: a pre-encoded ``av.Packet`` to RTP packets on the wire.

    ``srtp`` and ``udp`` switch off the last steps so their cost can be told apart.
    """

    def __init__(
        self,
        encoder: Encoder,
        kind: str,
        payload_type: int,
        *,
        srtp: Session | None = None,
        udp: UdpSink | None = None,
    ) -> None:
        self.encoder = encoder
        self.payload_type = payload_type
        self.srtp = srtp
        self.udp = udp
        self.ext = extensions_map(kind)
        self.sequence_number = 0
        self.ssrc = 0x1234
        self.packets = 0
        self.octets = 0

    def send(self, data: Any) -> None:
        payloads, timestamp = self.encoder.pack(data)
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            packet = RtpPacket(
                payload_type=self.payload_type,
                sequence_number=self.sequence_number,
                timestamp=timestamp,
            )
            packet.ssrc = self.ssrc
            packet.payload = payload
            packet.marker = 1 if i == last else 0
            packet.extensions.abs_send_time = (current_ntp_time() >> 14) & 0x00FFFFFF
            packet.extensions.mid = "0"
            raw = packet.serialize(self.ext)
            if self.srtp is not None:
                raw = self.srtp.protect(raw)
            if self.udp is not None:
                self.udp.send(raw)
            self.packets += 1
            self.octets += len(raw)
            self.sequence_number = (self.sequence_number + 1) & 0xFFFF


class RtpIn:
    """One receiver: SRTP packets from a browser to decoded frames (or encoded frames,
    with ``decoder`` None, as our video pass-through does)."""

    def __init__(
        self,
        codec: RTCRtpCodecParameters,
        kind: str,
        decoder: Decoder | None,
        srtp: Session,
    ) -> None:
        self.codec = codec
        self.decoder = decoder
        self.srtp = srtp
        self.ext = extensions_map(kind)
        self.stats = StreamStatistics(codec.clockRate)
        if kind == "audio":
            self.jitter = JitterBuffer(capacity=16, prefetch=4)
        else:
            self.jitter = JitterBuffer(capacity=512, is_video=True)

    def receive(self, data: bytes) -> list[Any]:
        packet = RtpPacket.parse(self.srtp.unprotect(data), self.ext)
        self.stats.add(packet)
        packet._data = depayload(self.codec, packet.payload)  # type: ignore[attr-defined]
        _, frame = self.jitter.add(packet)
        if frame is None:
            return []
        if self.decoder is None:
            return [frame]
        out: list[Any] = self.decoder.decode(frame)
        return out


__all__ = [
    "SRTP_PROFILE",
    "RtpIn",
    "RtpOut",
    "UdpSink",
    "extensions_map",
    "srtp_pair",
]
