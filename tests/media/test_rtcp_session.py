"""A phone leg's RTCP (issue 13): the report schedule and contents, and what the phone's
reports tell us (loss, jitter, round trip); then the same over real sockets with a leg."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket

import pytest

from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    build_compound,
    build_receiver_report,
    build_sender_report,
    parse_compound,
)
from confero.media.rtcp_session import RtcpSession
from confero.media.rtp import RtpPacket, RtpSender, is_rtcp
from tests.phone.softphone import HOST

PHONE_SSRC = 0x5EED


def session(interval: float = 5.0) -> RtcpSession:
    return RtcpSession(
        8000,
        cname="leg@confero",
        now=100.0,
        interval=interval,
        wallclock=lambda: 1e9,
        rng=random.Random(7),
    )


def audio(seq: int, ts: int) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, ts & 0xFFFFFFFF, PHONE_SSRC, b"\xff" * 160)


def test_reports_every_interval_randomised_rr_until_we_send_then_sr_and_a_cname() -> None:
    s = session()
    sender = RtpSender(0)
    # 6.2: the first report after half an interval (randomised 0.5-1.5 of it)
    assert not s.due(100.0 + 1.24)
    times = [t / 100 for t in range(10_000, 10_000 + 6000)]  # one minute of 10 ms steps
    sent: list[tuple[float, list[object]]] = []
    for now in times:
        if s.due(now):
            sent.append((now, list(parse_compound(s.report(now, sender)))))
            sender.next(b"\x00" * 160, 160)  # from now on we send RTP
    first = sent[0][0] - 100.0
    assert 1.25 <= first <= 3.76
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert all(2.5 - 0.011 <= g <= 7.5 + 0.011 for g in gaps), gaps
    assert 8 <= len(sent) <= 20 and len(set(round(g, 2) for g in gaps)) > 1, "randomised"
    assert isinstance(sent[0][1][0], ReceiverReport), "nothing sent yet: RR"
    assert all(isinstance(p[0], SenderReport) for _, p in sent[1:]), "sent since: SR"
    for _, packets in sent:
        assert isinstance(packets[1], SourceDescription)
        assert packets[1].chunks[0].cname == "leg@confero"
        assert packets[1].chunks[0].ssrc == sender.ssrc
    sr = sent[1][1][0]
    assert isinstance(sr, SenderReport)
    assert (sr.ssrc, sr.packet_count, sr.octet_count) == (sender.ssrc, 1, 160)
    # nothing sent between two reports: back to RR
    quiet = s.report(times[-1] + 10, sender)
    assert isinstance(parse_compound(s.report(times[-1] + 20, sender))[0], ReceiverReport)
    assert isinstance(parse_compound(quiet)[0], SenderReport)
    bye = parse_compound(s.bye(times[-1] + 21, sender, "hangup"))
    assert [type(p) for p in bye] == [ReceiverReport, SourceDescription, Bye]
    assert bye[2] == Bye((sender.ssrc,), "hangup")


def test_what_we_measure_of_the_phone_goes_in_our_report_block_and_quality() -> None:
    s = session()
    sender = RtpSender(0)
    arrival = 100.0
    for i in range(100):
        if i in (10, 11, 50):
            continue  # three lost
        jitter = 0.004 if i % 2 else 0.0  # every other packet 4 ms late
        s.on_rtp(audio(65_500 + i, 1000 + 160 * i), arrival + 0.02 * i + jitter)
    q = s.quality("PCMU")
    assert (q.codec, q.packets_received, q.packets_lost) == ("PCMU", 97, 3)
    assert q.loss_percent == 3.0
    assert q.jitter_ms is not None and 2.0 < q.jitter_ms < 5.0
    assert q.rtt_ms is None and q.remote_loss_percent is None, "no report from it yet"
    (block,) = parse_compound(s.report(103.0, sender))[0].reports  # type: ignore[union-attr]
    assert block.ssrc == PHONE_SSRC
    assert block.cumulative_lost == 3
    assert block.highest_sequence == (1 << 16) + (65_500 + 99 - (1 << 16))  # wrapped
    assert block.fraction_lost == (3 << 8) // 100


def test_round_trip_loss_and_jitter_from_the_phones_report_about_our_stream() -> None:
    s = session()
    sender = RtpSender(0)
    for _i in range(10):
        sender.next(b"\x00" * 160, 160)
    s.on_rtp(audio(1, 160), 100.5)
    ours = parse_compound(s.report(102.0, sender))[0]
    assert isinstance(ours, SenderReport)
    lsr = (ours.ntp_timestamp >> 16) & 0xFFFFFFFF
    # the phone got our SR after 40 ms, held it 250 ms, its RR takes 40 ms back: 80 ms
    block = ReportBlock(
        ssrc=sender.ssrc,
        fraction_lost=64,
        cumulative_lost=12,
        highest_sequence=5,
        jitter=160,
        last_sr=lsr,
        delay_since_last_sr=int(0.25 * 65536),
    )
    other = ReportBlock(ssrc=sender.ssrc ^ 1, fraction_lost=255, last_sr=lsr)
    rr = build_receiver_report(PHONE_SSRC, "phone@lan", (other, block))
    assert s.on_rtcp(rr, 102.0 + 0.33, sender.ssrc)
    q = s.quality("PCMU")
    assert q.rtt_ms is not None and abs(q.rtt_ms - 80.0) < 0.1
    assert (q.remote_loss_percent, q.remote_packets_lost, q.remote_jitter_ms) == (25.0, 12, 20.0)
    assert q.reports_received == 1
    # its SR gives our next block's LSR/DLSR
    sr = SenderReport(PHONE_SSRC, 0x0001_2345_6789_0000, 160, 1, 160)
    assert s.on_rtcp(build_sender_report(sr, "phone@lan"), 103.0, sender.ssrc)
    (mine,) = parse_compound(s.report(103.5, sender))[0].reports  # type: ignore[union-attr]
    assert (mine.last_sr, mine.delay_since_last_sr) == (0x2345_6789, 32768)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\xc9",
        b"\x80\xc9\x00\x05" + b"\x00" * 4,  # length past the datagram
        b"\x40\xc9\x00\x01\x00\x00\x00\x01",  # version 1
        # a compound must start with SR or RR (RFC 3550 6.1)
        build_compound(Bye((PHONE_SSRC,))),
    ],
)
def test_malformed_rtcp_is_counted_and_dropped_never_raised(data: bytes) -> None:
    s = session()
    assert not s.on_rtcp(data, 101.0, 1)
    q = s.quality("PCMU")
    assert (q.rtcp_malformed, q.reports_received) == (1, 0)


def test_a_report_before_our_first_sr_or_with_a_bogus_lsr_gives_no_round_trip() -> None:
    s = session()
    sender = RtpSender(0)
    assert s.on_rtcp(
        build_receiver_report(PHONE_SSRC, "p", (ReportBlock(ssrc=sender.ssrc),)), 101, 7
    )
    bogus = ReportBlock(ssrc=sender.ssrc, last_sr=0xFFFF_0000)
    assert s.on_rtcp(build_receiver_report(PHONE_SSRC, "p", (bogus,)), 101, sender.ssrc)
    assert s.quality("PCMU").rtt_ms is None


# -- over sockets, with a leg --------------------------------------------------------------


class _Phone(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.put_nowait((data, addr))


async def _socket(port: int = 0) -> tuple[asyncio.DatagramTransport, _Phone]:
    """A phone's socket on the softphones' own loopback address: what reaches it came
    from the leg, not from another process's stray RTP (``softphone.HOST``)."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_Phone, local_addr=(HOST, port))
    return transport, proto


async def _tick(leg: RtpAudioLeg, seconds: float = 30.0) -> None:
    """The media engine's part: ``pull`` every 20 ms (and send what it would send)."""
    for _ in range(round(seconds / 0.02)):
        leg.pull()
        leg.send_encoded(b"\xff" * 160)
        await asyncio.sleep(0.02)


def _ticking(leg: RtpAudioLeg) -> asyncio.Task[None]:
    return asyncio.ensure_future(_tick(leg))


async def _report(proto: _Phone, seconds: float = 3.0) -> tuple[list[object], tuple[str, int]]:
    """The next RTCP datagram (RTP on a muxed port is skipped)."""
    while True:
        data, addr = await asyncio.wait_for(proto.got.get(), seconds)
        if is_rtcp(data):
            return list(parse_compound(data)), addr


async def test_a_leg_reports_to_the_phones_rtcp_port_and_measures_the_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RTP on an even port, RTCP on the odd one above; our SR reaches the phone's RTCP
    port, its RR (about our SR) gives the round trip; a malformed report is counted and
    changes nothing; BYE when the leg closes."""
    monkeypatch.setattr(RtpAudioLeg, "RTCP_INTERVAL", 0.3)
    leg = RtpAudioLeg("l1", PCMU)
    port = await leg.open("127.0.0.1")
    assert port % 2 == 0
    with pytest.raises(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port + 1))  # our RTCP socket holds it
    rtp, rtp_in = await _socket()
    rtcp, rtcp_in = await _socket(rtp.get_extra_info("sockname")[1] + 1)
    phone_rtp = rtp.get_extra_info("sockname")
    ticks = _ticking(leg)
    try:
        leg.set_remote(phone_rtp)
        leg.set_rtcp_remote((phone_rtp[0], phone_rtp[1] + 1), mux=False)
        sender = RtpSender(0)
        for _ in range(5):
            rtp.sendto(sender.next(b"\xff" * 160, 160).to_bytes(), ("127.0.0.1", port))
        packets, source = await _report(rtcp_in)
        while not isinstance(packets[0], SenderReport):
            packets, source = await _report(rtcp_in)
        assert source == ("127.0.0.1", port + 1), "from our RTCP port"
        ours = packets[0]
        assert isinstance(ours, SenderReport) and ours.reports[0].ssrc == sender.ssrc
        lsr = (ours.ntp_timestamp >> 16) & 0xFFFFFFFF
        about_us = ReportBlock(ssrc=ours.ssrc, last_sr=lsr, delay_since_last_sr=0, jitter=80)
        rtcp.sendto(b"\x80\xc9\x00\x09garbage", ("127.0.0.1", port + 1))
        await asyncio.sleep(0.05)
        rtcp.sendto(
            build_receiver_report(sender.ssrc, "phone", (about_us,)), ("127.0.0.1", port + 1)
        )
        await asyncio.sleep(0.1)
        q = leg.quality()
        assert q.rtt_ms is not None and 0 <= q.rtt_ms < 300
        assert q.remote_jitter_ms == 10.0
        assert q.rtcp_malformed == 1
        assert (q.packets_received, q.packets_lost, q.codec) == (5, 0, "PCMU")
    finally:
        ticks.cancel()
        leg.close()
    packets, _ = await _report(rtcp_in)
    while not isinstance(packets[-1], Bye):
        packets, _ = await _report(rtcp_in)
    assert isinstance(packets[-1], Bye) and packets[-1].ssrcs == (ours.ssrc,)
    rtp.close()
    rtcp.close()
    assert not rtp_in.got.empty(), "and RTP went to the phone's RTP port"


async def test_rtcp_from_another_host_is_ignored_and_muxed_rtcp_uses_the_rtp_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RtpAudioLeg, "RTCP_INTERVAL", 0.2)
    leg = RtpAudioLeg("l2", PCMU)
    port = await leg.open("127.0.0.1")
    phone, phone_in = await _socket()
    address = phone.get_extra_info("sockname")
    ticks = _ticking(leg)
    try:
        leg.set_remote(address)
        leg.set_rtcp_remote(address, mux=True)
        report = build_receiver_report(PHONE_SSRC, "p", (ReportBlock(ssrc=1, jitter=8),))
        leg.rtcp_received(report, ("198.51.100.7", 9), muxed=False)  # not the phone's host
        assert leg.quality().reports_received == 0
        phone.sendto(report, ("127.0.0.1", port))  # muxed on RTP (RFC 5761)
        packets, source = await _report(phone_in)
        assert leg.quality().reports_received == 1
        assert source == ("127.0.0.1", port), "muxed: reports come from the RTP port"
        assert isinstance(packets[0], ReceiverReport | SenderReport)
    finally:
        ticks.cancel()
        leg.close()
        phone.close()


async def test_no_report_goes_to_an_sdp_address_that_has_not_sent_us_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14: the SDP names another host than the SIP's (``proven_only``), with an
    ``a=rtcp`` port. Neither RTP nor RTCP (not even the BYE) goes there until that host's
    own RTP arrives; then reports follow the RTP. (A report scheduled during the IVR's
    welcome once reached such an address.)"""
    monkeypatch.setattr(RtpAudioLeg, "RTCP_INTERVAL", 0.1)
    leg = RtpAudioLeg("l3", PCMU)
    port = await leg.open("127.0.0.1")
    rtp, rtp_in = await _socket()
    rtcp, rtcp_in = await _socket(rtp.get_extra_info("sockname")[1] + 1)
    sdp = rtp.get_extra_info("sockname")
    ticks = _ticking(leg)
    try:
        leg.set_remote(sdp, peer_host="192.0.2.1", proven_only=True)
        leg.set_rtcp_remote((sdp[0], sdp[1] + 1), mux=False)
        await asyncio.sleep(0.8)  # several report intervals
        assert (rtp_in.got.qsize(), rtcp_in.got.qsize()) == (0, 0), "nothing reflected"
        rtp.sendto(RtpSender(0).next(b"\xff" * 160, 160).to_bytes(), ("127.0.0.1", port))
        packets, _ = await _report(rtcp_in)
        assert isinstance(packets[0], ReceiverReport | SenderReport)
        assert not rtp_in.got.empty(), "and the RTP too"
    finally:
        ticks.cancel()
        leg.close()
        rtp.close()
        rtcp.close()


async def test_an_unproven_leg_closes_without_a_bye() -> None:
    leg = RtpAudioLeg("l4", PCMU)
    await leg.open("127.0.0.1")
    rtp, rtp_in = await _socket()
    rtcp, rtcp_in = await _socket(rtp.get_extra_info("sockname")[1] + 1)
    sdp = rtp.get_extra_info("sockname")
    try:
        leg.set_remote(sdp, peer_host="192.0.2.1", proven_only=True)
        leg.set_rtcp_remote((sdp[0], sdp[1] + 1), mux=False)
        leg.send_encoded(b"\xff" * 160)
        leg.close()
        await asyncio.sleep(0.1)
        assert (rtp_in.got.qsize(), rtcp_in.got.qsize()) == (0, 0)
    finally:
        rtp.close()
        rtcp.close()


def test_each_report_hands_the_intervals_loss_and_jitter_to_the_metrics() -> None:
    """Issue 18: one (loss, jitter) sample per leg and report interval, in base units;
    nothing before we heard the phone, and the next interval starts afresh."""
    s = session()
    sender = RtpSender(0)
    heard: list[tuple[float, float]] = []
    s.on_interval = lambda loss, jitter: heard.append((loss, jitter))
    s.report(101.0, sender)
    assert heard == [], "no stream from the phone yet: nothing to tell"
    for i in range(100):
        if i in (10, 11, 50):
            continue
        late = 0.004 if i % 2 else 0.0
        s.on_rtp(audio(i, 160 * i), 102.0 + 0.02 * i + late)
    s.report(105.0, sender)
    (loss, jitter), *_ = heard
    assert loss == ((3 << 8) // 100) / 256  # RFC 3550's 8-bit fraction, as a ratio
    assert 0.002 < jitter < 0.005  # seconds, at 8 kHz
    for i in range(100, 150):
        s.on_rtp(audio(i, 160 * i), 102.0 + 0.02 * i)
    s.report(110.0, sender)
    assert heard[1][0] == 0.0, "the second interval lost nothing"
