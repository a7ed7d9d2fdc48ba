"""RTCP: compound parsing without stray exceptions, and reports per RFC 3550 A.1/A.3/A.8."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confero.media.rtcp import (
    Bye,
    ReceiverReport,
    ReceiverStats,
    ReportBlock,
    RtcpError,
    SdesChunk,
    SenderReport,
    SourceDescription,
    UnknownRtcp,
    build_bye,
    build_compound,
    build_receiver_report,
    build_sender_report,
    ntp_timestamp,
    parse_compound,
)

BLOCK = ReportBlock(
    ssrc=0x11223344,
    fraction_lost=25,
    cumulative_lost=-3,
    highest_sequence=0x0001_0005,
    jitter=80,
    last_sr=0xAABBCCDD,
    delay_since_last_sr=65536,
)


def test_report_block_wire_layout() -> None:
    raw = ReceiverReport(0x01020304, (BLOCK,)).to_bytes()
    assert raw[:4] == b"\x81\xc9\x00\x07"  # V=2 RC=1, PT=201, length 7 words
    assert raw[8:12] == b"\x11\x22\x33\x44"
    assert raw[12:16] == bytes([25]) + b"\xff\xff\xfd"  # fraction, cumulative lost -3
    assert struct.unpack("!IIII", raw[16:32]) == (0x00010005, 80, 0xAABBCCDD, 65536)


def test_round_trip_of_every_packet_type_in_one_compound() -> None:
    sr = SenderReport(7, ntp_timestamp(1_700_000_000.25), 123456, 50, 8000, (BLOCK,))
    rr = ReceiverReport(8, (BLOCK, BLOCK))
    sdes = SourceDescription(
        (SdesChunk(7, ((1, b"conf@host"), (2, b"Confero"))), SdesChunk(8, ((1, b"x"),)))
    )
    bye = Bye((7, 8), "call ended")
    app = UnknownRtcp(204, 1, b"name\x00\x00\x00\x01")
    packets = parse_compound(build_compound(sr, rr, sdes, bye, app))
    assert packets == [sr, rr, sdes, bye, app]
    assert sdes.chunks[0].cname == "conf@host" and sdes.chunks[1].cname == "x"
    assert SdesChunk(1).cname is None


def test_ntp_timestamp() -> None:
    assert ntp_timestamp(0.0) == 2_208_988_800 << 32
    assert ntp_timestamp(0.5) & 0xFFFFFFFF == 1 << 31


def test_builders_start_with_a_report_and_carry_a_cname() -> None:
    rr = parse_compound(build_receiver_report(5, "leg-1@confero", (BLOCK,)))
    assert isinstance(rr[0], ReceiverReport) and rr[0].reports == (BLOCK,)
    assert isinstance(rr[1], SourceDescription) and rr[1].chunks[0].cname == "leg-1@confero"
    sr = SenderReport(5, 1 << 40, 160, 1, 160)
    parsed = parse_compound(build_sender_report(sr, "leg-1@confero"))
    assert parsed[0] == sr and isinstance(parsed[1], SourceDescription)
    bye = parse_compound(build_bye(5, "leg-1@confero", "bye"))
    assert [type(p) for p in bye] == [ReceiverReport, SourceDescription, Bye]
    assert bye[2] == Bye((5,), "bye")
    assert parse_compound(build_bye(5, "c"))[2] == Bye((5,), None)


def test_padding_and_profile_extensions_are_tolerated() -> None:
    rr = ReceiverReport(1, (BLOCK,)).to_bytes()
    padded = bytes([rr[0] | 0x20]) + rr[1:3] + bytes([rr[3] + 1]) + rr[4:] + b"\x00\x00\x00\x04"
    assert parse_compound(padded) == [ReceiverReport(1, (BLOCK,))]
    extended = rr[:3] + bytes([rr[3] + 1]) + rr[4:] + b"extn"
    assert parse_compound(extended) == [ReceiverReport(1, (BLOCK,))]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter"),
        (b"\x81\xc9\x00", "shorter"),
        (b"\x41\xc9\x00\x01\x00\x00\x00\x01", "version"),
        (b"\x80\x00\x00\x01\x00\x00\x00\x01", "not RTCP"),
        (b"\x81\xc9\x00\x07" + b"\x00" * 8, "runs past"),
        (b"\x81\xc9\x00\x01" + b"\x00" * 4, "report blocks"),
        (b"\x80\xc8\x00\x01" + b"\x00" * 4, "sender info"),
        (b"\x80\xc9\x00\x00", "RR shorter"),
        (b"\x81\xca\x00\x02" + b"\x00\x00\x00\x01" + b"\x01\x05ab", "SDES item"),
        (b"\x81\xca\x00\x02" + b"\x00\x00\x00\x01" + b"\x01\x02ab", "END"),
        (b"\x82\xcb\x00\x01" + b"\x00\x00\x00\x01", "SSRC list"),
        (b"\x81\xcb\x00\x02" + b"\x00\x00\x00\x01" + b"\x09abc", "reason"),
        (b"\xa0\xc9\x00\x01" + b"\x00\x00\x00\x00", "padding"),
        (b"\x80\xc9\x00\x01" + b"\x00" * 4 + b"\x80", "trailing"),
    ],
)
def test_malformed_compounds_raise_rtcp_error(data: bytes, reason: str) -> None:
    with pytest.raises(RtcpError, match=reason):
        parse_compound(data)


def test_field_ranges_are_checked() -> None:
    with pytest.raises(RtcpError):
        ReportBlock(1, fraction_lost=256)
    with pytest.raises(RtcpError):
        ReportBlock(1, cumulative_lost=1 << 23)
    with pytest.raises(RtcpError):
        ReceiverReport(1, (BLOCK,) * 32)
    with pytest.raises(RtcpError):
        Bye((1,), "x" * 256)
    with pytest.raises(RtcpError):
        SdesChunk(1, ((0, b"x"),))


def _valid_compound() -> st.SearchStrategy[bytes]:
    blocks = st.lists(
        st.builds(
            ReportBlock,
            st.integers(0, 0xFFFFFFFF),
            st.integers(0, 255),
            st.integers(-(1 << 23), (1 << 23) - 1),
            st.integers(0, 0xFFFFFFFF),
        ),
        max_size=3,
    ).map(tuple)
    packet = st.one_of(
        st.builds(ReceiverReport, st.integers(0, 0xFFFFFFFF), blocks),
        st.builds(
            SenderReport,
            st.integers(0, 0xFFFFFFFF),
            st.integers(0, (1 << 64) - 1),
            st.integers(0, 0xFFFFFFFF),
            st.integers(0, 0xFFFFFFFF),
            st.integers(0, 0xFFFFFFFF),
            blocks,
        ),
        st.builds(
            lambda ssrc, items: SourceDescription((SdesChunk(ssrc, tuple(items)),)),
            st.integers(0, 0xFFFFFFFF),
            st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=20)), max_size=3),
        ),
        st.builds(
            Bye,
            st.lists(st.integers(0, 0xFFFFFFFF), max_size=3).map(tuple),
            st.none() | st.text(max_size=20),
        ),
    )
    return st.lists(packet, min_size=1, max_size=4).map(lambda ps: build_compound(*ps))


@given(_valid_compound())
def test_valid_compounds_round_trip(data: bytes) -> None:
    assert build_compound(*parse_compound(data)) == data


@given(st.binary(max_size=200))
def test_parse_arbitrary_bytes_raises_only_rtcp_error(data: bytes) -> None:
    with contextlib.suppress(RtcpError):
        parse_compound(data)


@given(_valid_compound(), st.data())
def test_parse_corrupted_compounds_raises_only_rtcp_error(data: bytes, draw: st.DataObject) -> None:
    raw = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        raw[draw.draw(st.integers(0, len(raw) - 1))] = draw.draw(st.integers(0, 255))
    raw = raw[: draw.draw(st.integers(0, len(raw)))]
    with contextlib.suppress(RtcpError):
        parse_compound(bytes(raw))


# -- receiver statistics ------------------------------------------------------------------


def feed(stats: ReceiverStats, seqs: list[int], start: float = 0.0) -> None:
    for i, seq in enumerate(seqs):
        stats.update(seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, start + i * 0.02)


def test_loss_counts_and_fraction_lost() -> None:
    stats = ReceiverStats(ssrc=42, clock_rate=8000)
    seqs = [s for s in range(1000, 1100) if s % 10 != 3]  # 10 of 100 lost
    feed(stats, seqs)
    block = stats.report_block(now=2.0)
    assert block.ssrc == 42
    assert block.cumulative_lost == 10
    assert block.fraction_lost == (10 * 256) // 100
    assert block.highest_sequence == 1099
    feed(stats, list(range(1100, 1150)), start=2.0)  # no loss in the next interval
    block = stats.report_block(now=3.0)
    assert block.fraction_lost == 0 and block.cumulative_lost == 10


def test_extended_highest_sequence_counts_cycles() -> None:
    stats = ReceiverStats(ssrc=1, clock_rate=8000)
    feed(stats, list(range(65500, 65600)))  # wraps after 36 packets
    block = stats.report_block(now=2.0)
    assert block.highest_sequence == (1 << 16) + (65599 - 65536)
    assert block.cumulative_lost == 0


def test_duplicates_make_cumulative_lost_negative() -> None:
    stats = ReceiverStats(ssrc=1, clock_rate=8000)
    feed(stats, [1, 2, 3, 3, 3, 4])
    block = stats.report_block(now=1.0)
    assert block.cumulative_lost == -2 and block.fraction_lost == 0


def test_jitter_follows_appendix_a8() -> None:
    steady = ReceiverStats(ssrc=1, clock_rate=8000)
    for i in range(200):
        steady.update(i, i * 160, 5.0 + i * 0.02)
    assert steady.report_block(now=10.0).jitter == 0
    jittery = ReceiverStats(ssrc=1, clock_rate=8000)
    for i in range(400):  # transit alternates by 10 ms: |D| = 80 units every packet
        jittery.update(i, i * 160, 5.0 + i * 0.02 + (0.01 if i % 2 else 0.0))
    assert jittery.jitter == pytest.approx(80, abs=0.5)
    assert jittery.report_block(now=20.0).jitter in (79, 80)


def test_events_without_sampling_timestamps_do_not_disturb_jitter() -> None:
    stats = ReceiverStats(ssrc=1, clock_rate=8000)
    for i in range(100):
        stats.update(i, None if 40 <= i < 50 else i * 160, i * 0.02)
    assert stats.jitter == pytest.approx(0, abs=1e-6)
    assert stats.report_block(now=3.0).cumulative_lost == 0


def test_lsr_and_dlsr_come_from_the_last_sender_report() -> None:
    stats = ReceiverStats(ssrc=9, clock_rate=8000)
    feed(stats, [1, 2, 3])
    assert stats.report_block(now=1.0).last_sr == 0
    ntp = (0x11223344 << 32) | 0x55667788
    stats.on_sender_report(SenderReport(9, ntp, 0, 0, 0), arrival=10.0)
    block = stats.report_block(now=10.5)
    assert block.last_sr == 0x33445566
    assert block.delay_since_last_sr == 32768


def test_probation_and_resync_per_appendix_a1() -> None:
    stats = ReceiverStats(ssrc=1, clock_rate=8000, min_sequential=2)
    assert stats.update(100, 0, 0.0) is False  # on probation
    assert stats.update(101, 160, 0.02) is True
    assert stats.update(102, 320, 0.04) is True
    assert stats.update(40000, 0, 0.06) is False  # a wild jump is not believed at once
    assert stats.update(40001, 160, 0.08) is True  # ... but two in a row resync
    assert stats.report_block(now=1.0).highest_sequence == 40001
    assert stats.received == 1 and stats.lost == 0


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)), max_size=60))
def test_stats_accept_any_sequence(packets: list[tuple[int, int]]) -> None:
    stats = ReceiverStats(ssrc=1, clock_rate=8000)
    for i, (seq, ts) in enumerate(packets):
        stats.update(seq, ts, i * 0.02)
    block = stats.report_block(now=10.0)
    assert 0 <= block.fraction_lost <= 255
    parse_compound(build_receiver_report(1, "x", (block,)))
