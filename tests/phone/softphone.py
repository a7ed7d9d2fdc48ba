"""A scriptable phone for in-process tests: our SIP user agent as the caller, a UDP
socket for RTP that sends RFC 4733 digits and a tone, and keeps what it hears; it
speaks one codec (``codec``: PCMU by default, or G722 / OPUS for wideband, issue 13)
through the media layer's own ``phone_codecs``.

The sipp tests under tests/e2e prove the same against an independent SIP stack; this
one is quick enough to drive every keypad code.

RTCP (issue 13): like a desk phone it binds RTP on an even port and RTCP on the next, and
answers each sender report of ours at once with a receiver report about our stream (its
loss, jitter, and LSR/DLSR for the round trip); ``rtcp_in`` keeps what it received."""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import numpy as np
import numpy.typing as npt

from confero.media.dtmf import DtmfSender
from confero.media.phone_codecs import PHONE_CODECS, codec_for
from confero.media.rtcp import (
    ReceiverStats,
    RtcpError,
    RtcpPacket,
    SenderReport,
    build_receiver_report,
    parse_compound,
)
from confero.media.rtp import RtpPacket, RtpSender, is_rtcp
from confero.media.tone import detect_frequency, rms, sine
from confero.sip import offer_answer, sdp
from confero.sip.transaction import Timers
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent

FAST = Timers(t1=0.1, t2=0.8, t4=0.5)


class _Rtp(asyncio.DatagramProtocol):
    def __init__(self, phone: Softphone) -> None:
        self.phone = phone

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if is_rtcp(data):
            return
        with contextlib.suppress(Exception):
            packet = RtpPacket.parse(data)
            if packet.payload_type == self.phone.codec.payload_type:
                self.phone.heard.append(self.phone.decoder.decode(packet.payload))
                self.phone.remote = (addr[0], addr[1])
                self.phone.count(packet)


class _Rtcp(asyncio.DatagramProtocol):
    def __init__(self, phone: Softphone) -> None:
        self.phone = phone

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.phone.rtcp_received(data, (addr[0], addr[1]))


#: The softphones' own loopback address. Every other process of a test run (sipp,
#: Chromium, a killed node's peers) sends from 127.0.0.1, and a stream that outlives its
#: socket lands on whatever bound that port next: from 127.0.0.1 it is a stranger's to a
#: leg latched here, never a new stream of the caller's own host (seen in CI: a silent
#: caller's digits lost to another shard's stray RTP).
HOST = "127.0.0.42"


class Softphone:
    def __init__(
        self,
        server_port: int,
        *,
        user: str | None = None,
        sdp_ip: str = HOST,
        codec: str = "PCMU",
    ) -> None:
        self.server_port = server_port
        self.codec = PHONE_CODECS[codec]
        #: The rate of what it hears (and of its tone): the codec's audio rate.
        self.rate = self.codec.sample_rate
        self.decoder = self.codec.make_decoder()
        self._encoder = self.codec.make_encoder()
        #: The address its SDP names; another one than it sends from is a phone behind
        #: NAT without STUN (its private address in the SDP).
        self.sdp_ip = sdp_ip
        self.user = user or f"phone{secrets.randbelow(10_000)}"
        self.ua = UserAgent(HOST, 0, timers=FAST)
        self.heard: list[npt.NDArray[np.int16]] = []
        self.remote: tuple[str, int] | None = None
        self.call: SipCall | None = None
        self._rtp = RtpSender(self.codec.payload_type)
        self._dtmf = DtmfSender(101)
        self._transport: asyncio.DatagramTransport | None = None
        self._tone: asyncio.Task[None] | None = None
        self._media: tuple[str, int] | None = None
        self.port = 0
        self._rtcp: asyncio.DatagramTransport | None = None
        self._stats: ReceiverStats | None = None
        #: Every RTCP compound it received, parsed.
        self.rtcp_in: list[list[RtcpPacket]] = []

    async def dial(self, number: str) -> SipCall:
        await self.ua.start(tcp=False)
        await self._open_media()
        offer = offer_answer.offer(
            local_ip=self.sdp_ip,
            local_port=self.port,
            session_id=1,
            session_version=1,
            codecs=(self.codec.name,),
        )
        call = await self.ua.call(
            f"sip:{number}@127.0.0.1:{self.server_port}",
            Peer("UDP", ("127.0.0.1", self.server_port)),
            offer.to_text().encode(),
            from_user=self.user,
        )
        self.call = call
        if call.state == "confirmed":
            negotiated = offer_answer.accept_answer(offer, sdp.parse(call.remote_sdp.decode()))
            self._media = negotiated.remote_address
            self.codec = codec_for(negotiated.codec_name, negotiated.payload_type)
            self._rtp.payload_type = self.codec.payload_type
        return call

    async def _open_media(self) -> None:
        """RTP on an even port, RTCP on the odd one above (RFC 3550 section 11)."""
        loop = asyncio.get_running_loop()
        for _ in range(32):
            rtp, _ = await loop.create_datagram_endpoint(lambda: _Rtp(self), local_addr=(HOST, 0))
            port = rtp.get_extra_info("sockname")[1]
            if port % 2 == 0:
                with contextlib.suppress(OSError):
                    self._rtcp, _ = await loop.create_datagram_endpoint(
                        lambda: _Rtcp(self), local_addr=(HOST, port + 1)
                    )
                    self._transport, self.port = rtp, port
                    return
            rtp.close()
        raise OSError("no RTP/RTCP port pair")

    def count(self, packet: RtpPacket) -> None:
        """Reception statistics of what it hears, for its receiver reports."""
        if self._stats is None or self._stats.ssrc != packet.ssrc:
            self._stats = ReceiverStats(packet.ssrc, self.codec.clock_rate)
        self._stats.update(packet.sequence, packet.timestamp, asyncio.get_running_loop().time())

    def rtcp_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            packets = parse_compound(data)
        except RtcpError:
            return
        self.rtcp_in.append(packets)
        stats, now = self._stats, asyncio.get_running_loop().time()
        sr = packets[0]
        if isinstance(sr, SenderReport) and stats is not None and sr.ssrc == stats.ssrc:
            stats.on_sender_report(sr, now)
            report = build_receiver_report(self._rtp.ssrc, self.user, (stats.report_block(now),))
            if self._rtcp is not None:
                self._rtcp.sendto(report, addr)  # symmetric RTCP: back where it came from

    def _send(self, packet: RtpPacket) -> None:
        if self._transport is not None and self._media is not None:
            self._transport.sendto(packet.to_bytes(), self._media)

    async def press(self, keys: str, gap: float = 0.04) -> None:
        """Key presses as RFC 4733 events: each press's packets at once, then a gap."""
        for key in keys:
            schedule = self._dtmf.schedule(key, 0.08)
            start = self._rtp.timestamp
            for item in schedule:
                self._send(item.stamp(self._rtp, start, 101))
            self._rtp.pause(round((schedule[-1].at + gap) * self.codec.clock_rate))
            await asyncio.sleep(gap)

    def start_tone(self, frequency: float) -> None:
        self._tone = asyncio.ensure_future(self._send_tone(frequency))

    async def stop_tone(self) -> None:
        if self._tone is not None:
            self._tone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tone
            self._tone = None

    async def _send_tone(self, frequency: float) -> None:
        signal = sine(frequency, 1.0, self.rate, amplitude=0.3)
        n, step = self.codec.frame_samples, self.codec.timestamp_step
        loop = asyncio.get_running_loop()
        due = loop.time()
        i = 0
        while True:
            payload = self._encoder.encode(signal[(i % 50) * n : (i % 50 + 1) * n])
            if payload:
                self._send(self._rtp.next(payload, step))
            else:
                self._rtp.pause(step)
            i += 1
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def listen(self, seconds: float) -> npt.NDArray[np.int16]:
        """What this phone hears over the next ``seconds`` (at ``self.rate``)."""
        self.heard.clear()
        await asyncio.sleep(seconds)
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.int16)

    async def hears(self, frequency: float, seconds: float = 1.0) -> bool:
        audio = await self.listen(seconds)
        if audio.size < self.rate // 10 or rms(audio) < 300:
            return False
        return abs(detect_frequency(audio, self.rate) - frequency) < 15

    async def hangup(self) -> None:
        await self.stop_tone()
        if self.call is not None:
            self.call.hangup()
        await self.ua.stop()
        if self._transport is not None:
            self._transport.close()
        if self._rtcp is not None:
            self._rtcp.close()
