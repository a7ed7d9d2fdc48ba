"""One phone leg's RTP media on a UDP socket (RFC 3550, RFC 4733).

Inbound: packets from a foreign address or SSRC are dropped by the source filter;
telephone-events go to the DTMF receiver and never reach the mix; audio goes through the
adaptive jitter buffer and is resampled to the mixer's 48 kHz once per tick. Outbound:
the mix is resampled to 8 kHz, G.711-encoded and sent with this leg's own RTP header;
when several legs hear the same mix the engine encodes it once and hands each leg the
payload (``send_encoded``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from confero.media.dtmf import DtmfDigit, DtmfReceiver
from confero.media.g711 import G711Codec
from confero.media.jitter import JitterBuffer
from confero.media.resample import Resampler
from confero.media.rtp import RtpError, RtpPacket, RtpReceiverFilter, RtpSender, Verdict, is_rtcp
from confero.media.vad import SpeechGate

log = logging.getLogger(__name__)

Address = tuple[str, int]
Frame = npt.NDArray[np.int16]
MIXER_RATE = 48_000


@dataclass
class LegStats:
    received: int = 0
    ignored: int = 0
    malformed: int = 0
    sent: int = 0
    digits: int = 0


class RtpAudioLeg(asyncio.DatagramProtocol):
    def __init__(
        self,
        leg_id: str,
        codec: G711Codec,
        *,
        dtmf_payload_type: int | None = 101,
        on_digit: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.id = leg_id
        self.codec = codec
        self.dtmf_payload_type = dtmf_payload_type
        self.on_digit = on_digit
        self._clock = clock
        self.stats = LegStats()
        self.remote: Address | None = None
        self.local_port = 0
        self.sending = True
        self._filter = RtpReceiverFilter()
        self._jitter = JitterBuffer(codec.decode, clock_rate=codec.clock_rate)
        self._dtmf = DtmfReceiver(clock_rate=codec.clock_rate)
        self._up = Resampler(codec.clock_rate, MIXER_RATE)
        self._gate = SpeechGate()
        self._down = Resampler(MIXER_RATE, codec.clock_rate)
        self._sender = RtpSender(codec.payload_type)
        self._transport: asyncio.DatagramTransport | None = None
        self.frame_samples = codec.clock_rate // 50

    # ---------------------------------------------------------------- socket
    async def open(self, host: str, port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._transport = transport
        self.local_port = int(transport.get_extra_info("sockname")[1])
        return self.local_port

    def set_remote(self, address: Address, *, peer_host: str | None = None) -> None:
        """Where to send (from the SDP) until the phone's first packet; with ``peer_host``
        (where its SIP came from) the leg latches to the source of the first packet from
        the SDP's host or that one, and sends there (symmetric RTP for phones behind
        NAT); without it inbound is held to the SDP address."""
        self.remote = address
        hosts = frozenset({address[0], peer_host}) if peer_host else frozenset()
        self._filter.expect(address, hosts)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def closed(self) -> bool:
        return self._transport is None

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if is_rtcp(data):
            return  # reports are not needed to mix; RTCP handling comes with stats
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            self.stats.malformed += 1
            return
        now = self._clock()
        verdict = self._filter.check(packet, (addr[0], addr[1]), now)
        if not verdict.accepted:
            self.stats.ignored += 1
            return
        if verdict is Verdict.NEW_SOURCE:
            self._jitter.reset()
            self._dtmf.reset()
            if self._filter.address is not None and self._filter.address != self.remote:
                self.remote = self._filter.address  # answer where the phone really is
        self.stats.received += 1
        if packet.payload_type == self.dtmf_payload_type:
            self._digits(self._dtmf.feed(packet, now))
        elif packet.payload_type == self.codec.payload_type:
            self._jitter.put(packet, now)
        else:
            self.stats.ignored += 1

    def _digits(self, found: list[DtmfDigit]) -> None:
        for d in found:
            self.stats.digits += 1
            if self.on_digit is not None:
                self.on_digit(d.digit)

    # ---------------------------------------------------------------- per tick
    def pull(self, now: float | None = None) -> Frame | None:
        """This leg's next 20 ms at 48 kHz, or None when it has nothing to say."""
        now = self._clock() if now is None else now
        self._digits(self._dtmf.poll(now))
        frame = self._jitter.pop(now)
        if frame is None or not self._gate(frame.pcm):
            return None
        return self._up.process(frame.pcm)

    def send_frame(self, frame: Frame) -> None:
        """Resample, encode and send this leg's own mix (mix-minus, a private prompt)."""
        self.send_encoded(self.codec.encode(self._down.process(frame)))

    def send_encoded(self, payload: bytes) -> None:
        if self._transport is None or self.remote is None or not self.sending:
            self._sender.pause(self.frame_samples)
            return
        packet = self._sender.next(payload, self.frame_samples)
        self._transport.sendto(packet.to_bytes(), self.remote)
        self.stats.sent += 1


class SharedEncoder:
    """Resample and encode one shared mix once per codec (house rule 5)."""

    def __init__(self, codec: G711Codec) -> None:
        self.codec = codec
        self._down = Resampler(MIXER_RATE, codec.clock_rate)

    def encode(self, frame: Frame) -> bytes:
        return self.codec.encode(self._down.process(frame))
