"""Issue 14: what the media timeout reads of a leg. ``last_heard`` moves on RTP the
source filter accepts and on well-formed RTCP from the phone's host (a phone that holds
the call may send only RTCP), not on anyone else's packets; and a leg that never sent
anything sends no RTCP BYE when it closes (a call refused or never ACKed sends nothing
to the address its SDP named)."""

from __future__ import annotations

import asyncio
import socket

from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.rtcp import ReportBlock, build_receiver_report
from confero.media.rtp import RtpSender


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_last_heard_moves_on_the_phones_rtp_and_rtcp_only() -> None:
    clock = Clock()
    leg = RtpAudioLeg("h1", PCMU, clock=clock)
    await leg.open("127.0.0.1")
    assert leg.last_heard == 100.0
    leg.set_remote(("127.0.0.1", 4000), peer_host="127.0.0.1")
    rr = build_receiver_report(0x5EED, "phone", (ReportBlock(ssrc=1, jitter=8),))
    try:
        clock.now = 110.0
        leg.rtcp_received(rr, ("198.51.100.7", 4001), muxed=False)  # not the phone's host
        leg.rtcp_received(b"\x80\xc9\x00\x09garbage", ("127.0.0.1", 4001), muxed=False)
        assert leg.last_heard == 100.0
        leg.rtcp_received(rr, ("127.0.0.1", 4001), muxed=False)
        assert leg.last_heard == 110.0, "RTCP alone keeps a call alive"

        clock.now = 120.0
        rtp = RtpSender(0).next(b"\xff" * 160, 160).to_bytes()
        leg.datagram_received(rtp, ("203.0.113.9", 4000))  # a stranger
        assert leg.last_heard == 110.0
        leg.datagram_received(rtp, ("127.0.0.1", 4000))
        assert leg.last_heard == 120.0
    finally:
        leg.close()


async def test_a_leg_that_never_sent_closes_without_rtcp_bye() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtcp:
        rtcp.bind(("127.0.0.1", 0))
        rtcp.setblocking(False)
        leg = RtpAudioLeg("h2", PCMU)
        await leg.open("127.0.0.1")
        leg.set_remote(("127.0.0.1", 9))
        leg.set_rtcp_remote(rtcp.getsockname(), mux=False)
        leg.close()
        await asyncio.sleep(0.1)
        try:
            got = rtcp.recv(2048)
        except BlockingIOError:
            got = b""
        assert got == b"", "no BYE from a leg that never spoke"
