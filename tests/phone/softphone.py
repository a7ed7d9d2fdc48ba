"""A scriptable phone for in-process tests: our SIP user agent as the caller, a UDP
socket for RTP that sends RFC 4733 digits and a tone, and keeps what it hears.

The sipp tests under tests/e2e prove the same against an independent SIP stack; this
one is quick enough to drive every keypad code."""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import numpy as np
import numpy.typing as npt

from confero.media.dtmf import DtmfSender
from confero.media.g711 import PCMU
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
            if packet.payload_type == 0:
                self.phone.heard.append(PCMU.decode(packet.payload))
                self.phone.remote = (addr[0], addr[1])


class Softphone:
    def __init__(
        self, server_port: int, *, user: str | None = None, sdp_ip: str = "127.0.0.1"
    ) -> None:
        self.server_port = server_port
        #: The address its SDP names; another one than it sends from is a phone behind
        #: NAT without STUN (its private address in the SDP).
        self.sdp_ip = sdp_ip
        self.user = user or f"phone{secrets.randbelow(10_000)}"
        self.ua = UserAgent("127.0.0.1", 0, timers=FAST)
        self.heard: list[npt.NDArray[np.int16]] = []
        self.remote: tuple[str, int] | None = None
        self.call: SipCall | None = None
        self._rtp = RtpSender(0)
        self._dtmf = DtmfSender(101)
        self._transport: asyncio.DatagramTransport | None = None
        self._tone: asyncio.Task[None] | None = None
        self._media: tuple[str, int] | None = None
        self.port = 0

    async def dial(self, number: str) -> SipCall:
        await self.ua.start(tcp=False)
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Rtp(self), local_addr=("127.0.0.1", 0)
        )
        self.port = self._transport.get_extra_info("sockname")[1]
        offer = offer_answer.offer(
            local_ip=self.sdp_ip, local_port=self.port, session_id=1, session_version=1
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
        return call

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
            self._rtp.pause(round((schedule[-1].at + gap) * 8000))
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
        signal = sine(frequency, 1.0, 8000, amplitude=0.3)
        loop = asyncio.get_running_loop()
        due = loop.time()
        i = 0
        while True:
            frame = signal[(i % 50) * 160 : (i % 50 + 1) * 160]
            self._send(self._rtp.next(PCMU.encode(frame), 160))
            i += 1
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def listen(self, seconds: float) -> npt.NDArray[np.int16]:
        """What this phone hears over the next ``seconds`` (8 kHz)."""
        self.heard.clear()
        await asyncio.sleep(seconds)
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.int16)

    async def hears(self, frequency: float, seconds: float = 1.0) -> bool:
        audio = await self.listen(seconds)
        if audio.size < 800 or rms(audio) < 300:
            return False
        return abs(detect_frequency(audio, 8000) - frequency) < 15

    async def hangup(self) -> None:
        await self.stop_tone()
        if self.call is not None:
            self.call.hangup()
        await self.ua.stop()
        if self._transport is not None:
            self._transport.close()
