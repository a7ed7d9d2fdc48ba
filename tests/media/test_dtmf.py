"""RFC 4733 DTMF receive and send, and the flood bound (which SIP INFO keys share; their
bodies are read in ``sip/info_dtmf``, tested in tests/sip/test_info_dtmf.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confero.media.dtmf import (
    EVENT_DIGITS,
    DtmfDigit,
    DtmfError,
    DtmfReceiver,
    DtmfSender,
    TelephoneEvent,
    digit_for_event,
    event_for_digit,
    parse_events,
)
from confero.media.rtp import RtpError, RtpPacket, RtpSender
from confero.sip.info_dtmf import DtmfRelay

PT = 101
SIPP_PCAP = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")


def ev(
    digit: str, ts: int, duration: int, *, end: bool = False, marker: bool = False, seq: int = 0
) -> RtpPacket:
    payload = TelephoneEvent(event_for_digit(digit), end, 10, duration).to_bytes()
    return RtpPacket(PT, seq & 0xFFFF, ts & 0xFFFFFFFF, 77, payload, marker=marker)


def press(digit: str, ts: int, seq: int, *, updates: int = 4, ends: int = 3) -> list[RtpPacket]:
    """A sipp-like key press: start with marker, updates every 20 ms, three end packets."""
    packets = [ev(digit, ts, 160, marker=True, seq=seq)]
    packets += [ev(digit, ts, 160 * (k + 2), seq=seq + 1 + k) for k in range(updates)]
    total = 160 * (updates + 2)
    packets += [ev(digit, ts, total, end=True, seq=seq + 1 + updates + k) for k in range(ends)]
    return packets


def feed_all(
    rx: DtmfReceiver, packets: list[RtpPacket], t0: float = 0.0, step: float = 0.02
) -> tuple[list[DtmfDigit], float]:
    digits: list[DtmfDigit] = []
    t = t0
    for p in packets:
        digits += rx.feed(p, t)
        t += step
    return digits, t


# -- payload format -----------------------------------------------------------------------


def test_payload_round_trip_and_wire_layout() -> None:
    e = TelephoneEvent(event=5, end=True, volume=10, duration=800)
    assert e.to_bytes() == b"\x05\x8a\x03\x20"
    assert TelephoneEvent.parse(b"\x05\x8a\x03\x20") == e
    assert e.digit == "5"
    assert TelephoneEvent.parse(b"\x0b\x3f\xff\xff") == TelephoneEvent(11, False, 63, 65535)


def test_several_events_in_one_payload() -> None:
    data = (
        TelephoneEvent(1, True, 10, 800).to_bytes() + TelephoneEvent(2, False, 10, 160).to_bytes()
    )
    assert [e.event for e in parse_events(data)] == [1, 2]


@pytest.mark.parametrize("payload", [b"", b"\x05", b"\x05\x8a\x03", b"\x05\x8a\x03\x20\x01"])
def test_malformed_payloads_raise_dtmf_error(payload: bytes) -> None:
    with pytest.raises(DtmfError):
        parse_events(payload)


def test_event_codes_map_to_keys() -> None:
    assert [digit_for_event(i) for i in range(16)] == list("0123456789*#ABCD")
    assert digit_for_event(16) is None  # flash
    assert event_for_digit("*") == 10 and event_for_digit("#") == 11 and event_for_digit("d") == 15
    for bad in ("E", "", "12", " "):
        with pytest.raises(DtmfError):
            event_for_digit(bad)
    with pytest.raises(DtmfError):
        TelephoneEvent(256)
    with pytest.raises(DtmfError):
        TelephoneEvent(1, volume=64)


@given(st.binary(max_size=40))
def test_parse_events_of_arbitrary_bytes_raises_only_dtmf_error(data: bytes) -> None:
    try:
        events = parse_events(data)
    except DtmfError:
        return
    without_r_bit = bytes(b & ~0x40 if i % 4 == 1 else b for i, b in enumerate(data))
    assert b"".join(e.to_bytes() for e in events) == without_r_bit  # R is reserved: not kept


# -- receiver -------------------------------------------------------------------------------


def test_a_sipp_like_key_press_gives_exactly_one_digit() -> None:
    rx = DtmfReceiver()
    digits, t = feed_all(rx, press("5", ts=1000, seq=10))
    assert [d.digit for d in digits] == ["5"]
    (digit,) = digits
    assert digit.ended_by == "end" and digit.timestamp == 1000
    assert digit.duration == pytest.approx(960 / 8000)
    assert rx.poll(t + 1.0) == []  # the timeout does not report it again
    assert rx.stats.digits == 1 and rx.stats.ignored == 2  # the two repeated end packets


def test_the_digit_is_reported_at_the_first_end_packet() -> None:
    rx = DtmfReceiver()
    packets = press("9", ts=5000, seq=0)
    reported = [bool(rx.feed(p, 0.02 * i)) for i, p in enumerate(packets)]
    assert reported == [False] * 5 + [True, False, False]


def test_lost_end_packets_still_end_the_digit_after_a_timeout() -> None:
    rx = DtmfReceiver(end_timeout=0.2)
    digits, t = feed_all(rx, press("7", ts=2000, seq=0, ends=0))
    assert digits == []
    assert rx.poll(t + 0.1) == []
    (digit,) = rx.poll(t + 0.25)
    assert digit.digit == "7" and digit.ended_by == "timeout"


def test_lost_end_packets_end_the_digit_when_the_next_event_starts() -> None:
    rx = DtmfReceiver()
    first, t = feed_all(rx, press("1", ts=2000, seq=0, ends=0))
    second, _ = feed_all(rx, press("2", ts=6000, seq=6), t0=t)
    assert [(d.digit, d.ended_by) for d in first + second] == [("1", "next"), ("2", "end")]


def test_only_the_end_packets_arriving_still_give_the_digit() -> None:
    rx = DtmfReceiver()
    ends = [p for p in press("#", ts=100, seq=0) if TelephoneEvent.parse(p.payload).end]
    digits, _ = feed_all(rx, ends)
    assert [d.digit for d in digits] == ["#"]


def test_two_presses_of_the_same_key_give_two_digits() -> None:
    rx = DtmfReceiver()
    digits, t = feed_all(rx, press("3", ts=8000, seq=0))
    more, _ = feed_all(rx, press("3", ts=8000 + 2400, seq=8), t0=t + 0.1)
    assert [d.digit for d in digits + more] == ["3", "3"]


def test_late_packets_of_an_old_event_are_ignored() -> None:
    rx = DtmfReceiver()
    a = press("4", ts=1000, seq=0, ends=0)
    b = press("6", ts=5000, seq=5)
    digits, t = feed_all(rx, a + b)
    late_end = ev("4", 1000, 960, end=True, seq=3)
    stale, _ = feed_all(rx, [late_end, ev("8", 500, 160, seq=2)], t0=t)
    assert [d.digit for d in digits] == ["4", "6"] and stale == []


def test_timestamps_wrap_around() -> None:
    rx = DtmfReceiver()
    digits, t = feed_all(rx, press("1", ts=0xFFFFFF00, seq=65530))
    more, _ = feed_all(rx, press("2", ts=0x00000900, seq=65540), t0=t)
    assert [d.digit for d in digits + more] == ["1", "2"]


def test_a_very_long_press_continues_in_segments_as_one_digit() -> None:
    rx = DtmfReceiver()
    ts = 40000
    seg1 = [ev("0", ts, 0xFFFF - 400, marker=True), ev("0", ts, 0xFFFF)]
    seg2 = [ev("0", ts + 0xFFFF, 800), ev("0", ts + 0xFFFF, 1600, end=True)]
    digits, _ = feed_all(rx, seg1 + seg2, step=0.05)
    assert [d.digit for d in digits] == ["0"]
    assert digits[0].timestamp == ts
    assert digits[0].duration == pytest.approx((0xFFFF + 1600) / 8000)


def test_non_dtmf_events_and_garbage_are_ignored() -> None:
    rx = DtmfReceiver()
    flash = RtpPacket(PT, 1, 100, 1, TelephoneEvent(16, True, 10, 800).to_bytes())
    garbage = RtpPacket(PT, 2, 200, 1, b"\x01\x02\x03")
    assert rx.feed(flash, 0.0) == [] and rx.feed(garbage, 0.02) == []
    assert rx.stats.ignored == 1 and rx.stats.malformed == 1
    digits, _ = feed_all(rx, press("5", ts=400, seq=3), t0=0.1)
    assert [d.digit for d in digits] == ["5"]


def test_a_flood_of_events_is_bounded_and_counted() -> None:
    rx = DtmfReceiver(max_digits_per_second=10, burst=20)
    digits = []
    for i in range(1000):  # 1000 distinct one-packet events within one second
        digits += rx.feed(ev("1", 1000 + i * 8, 8, end=True, seq=i), i * 0.001)
    assert len(digits) == 20 + 9  # the burst plus what refilled in 0.999 s
    assert rx.stats.dropped == 1000 - len(digits)
    # after a quiet second the leg can dial again
    later, _ = feed_all(rx, press("2", ts=100000, seq=2000), t0=3.0)
    assert [d.digit for d in later] == ["2"]


def test_reset_forgets_the_event_in_progress() -> None:
    rx = DtmfReceiver()
    feed_all(rx, press("5", ts=1000, seq=0, ends=0))
    rx.reset()
    assert rx.poll(10.0) == []
    digits, _ = feed_all(rx, press("5", ts=1000, seq=0), t0=11.0)  # same ts, new source
    assert [d.digit for d in digits] == ["5"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 20),
            st.booleans(),
            st.integers(0, 0xFFFF),
            st.integers(0, 50),
            st.binary(max_size=6),
            st.booleans(),
        ),
        max_size=60,
    )
)
def test_any_packet_sequence_is_safe_and_bounded(
    items: list[tuple[int, bool, int, int, bytes, bool]],
) -> None:
    rx = DtmfReceiver(max_digits_per_second=10, burst=5)
    total = 0
    for i, (event, end, duration, ts_step, garbage, use_garbage) in enumerate(items):
        payload = garbage if use_garbage else TelephoneEvent(event, end, 0, duration).to_bytes()
        packet = RtpPacket(PT, i, (1000 + ts_step * 80 * i) & 0xFFFFFFFF, 1, payload)
        digits = rx.feed(packet, i * 0.01) + rx.poll(i * 0.01 + 0.005)
        assert all(d.digit in EVENT_DIGITS for d in digits)
        total += len(digits)
    assert total <= 5 + len(items) * 0.01 * 10 + 1


# -- sender ---------------------------------------------------------------------------------


def test_sender_schedule_follows_rfc_4733() -> None:
    sender = DtmfSender(payload_type=PT, update_interval=0.05)
    schedule = sender.schedule("5", duration=0.2)
    assert [round(s.at, 3) for s in schedule] == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    assert [s.marker for s in schedule] == [True] + [False] * 5
    assert [s.event.end for s in schedule] == [False, False, False, True, True, True]
    assert [s.event.duration for s in schedule] == [400, 800, 1200, 1600, 1600, 1600]
    assert {s.event.event for s in schedule} == {5}


def test_sender_packets_share_the_event_timestamp_and_number_sequentially() -> None:
    rtp = RtpSender(payload_type=0, ssrc=1, sequence=65534, timestamp=123456)
    packets = DtmfSender(payload_type=PT).packets("#", rtp, duration=0.1)
    assert {p.timestamp for p in packets} == {123456}
    assert [p.sequence for p in packets] == [65534, 65535, 0, 1]
    assert {p.payload_type for p in packets} == {PT} and packets[0].marker
    assert rtp.timestamp == 123456  # the caller moves the audio clock on


def test_a_short_press_still_has_a_marked_first_packet_and_three_ends() -> None:
    schedule = DtmfSender().schedule("1", duration=0.01)  # raised to the 40 ms minimum
    assert [(s.marker, s.event.end, s.event.duration) for s in schedule] == [
        (True, True, 320),
        (False, True, 320),
        (False, True, 320),
    ]


@pytest.mark.parametrize("digit", list(EVENT_DIGITS))
def test_sender_packets_fed_to_the_receiver_give_the_digit_back(digit: str) -> None:
    rtp = RtpSender(payload_type=0)
    schedule = DtmfSender(payload_type=PT).schedule(digit, duration=0.12)
    start = rtp.timestamp
    rx = DtmfReceiver()
    digits = []
    for s in schedule:
        packet = RtpPacket.parse(s.stamp(rtp, start, PT).to_bytes())
        digits += rx.feed(packet, 10.0 + s.at)
    assert [(d.digit, d.ended_by) for d in digits] == [(digit, "end")]
    assert digits[0].duration == pytest.approx(0.12)


def test_sender_to_receiver_with_losses() -> None:
    rtp = RtpSender(payload_type=0)
    packets = DtmfSender().packets("8", rtp, duration=0.3)
    rx = DtmfReceiver()
    kept = [p for i, p in enumerate(packets) if i not in (0, 2, len(packets) - 2)]
    digits, _ = feed_all(rx, kept, step=0.05)
    assert [d.digit for d in digits] == ["8"]


# -- keys by signalling (SIP INFO) ------------------------------------------------


def test_info_digits_share_the_flood_bound() -> None:
    rx = DtmfReceiver(max_digits_per_second=1, burst=2)
    got = [d.digit for i in range(5) for d in rx.feed_info(DtmfRelay(str(i)), now=0.0)]
    assert got == ["0", "1"] and rx.stats.dropped == 3
    assert rx.feed_info(DtmfRelay("9"), now=1.5)[0].ended_by == "info"


# -- captures -------------------------------------------------------------------------------


def udp_payloads_from_pcap(data: bytes) -> list[tuple[float, bytes]]:
    """(time, UDP payload) of each IPv4/UDP packet in a classic libpcap file (stdlib only)."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a libpcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    link_header = {0: 4, 1: 14, 101: 0, 113: 16, 228: 0}[linktype]
    out = []
    offset = 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack_from(endian + "IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        ip = frame[link_header:]
        if linktype == 1 and frame[12:14] == b"\x81\x00":  # 802.1Q tag
            ip = frame[18:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        length = struct.unpack_from("!H", udp, 4)[0]
        out.append((sec + frac / (1e9 if nano else 1e6), udp[8:length]))
    return out


def digits_from_capture(data: bytes) -> list[str]:
    rx = DtmfReceiver()
    digits = []
    last = 0.0
    for when, payload in udp_payloads_from_pcap(data):
        try:
            packet = RtpPacket.parse(payload)
        except RtpError:
            continue
        last = when
        if packet.payload_type >= 96 and len(packet.payload) == 4:  # telephone-event
            digits += [d.digit for d in rx.feed(packet, when)]
    digits += [d.digit for d in rx.poll(last + 10)]
    return digits


def synthetic_pcap(packets: list[tuple[float, bytes]]) -> bytes:
    """A little-endian Ethernet capture of UDP datagrams, as tcpdump writes them."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, udp_payload in packets:
        udp = struct.pack("!HHHH", 6000, 5060, 8 + len(udp_payload), 0) + udp_payload
        ip = (
            struct.pack(
                "!BBHHHBBH4s4s",
                0x45,
                0,
                20 + len(udp),
                0,
                0,
                64,
                17,
                0,
                bytes([10, 0, 0, 1]),
                bytes([10, 0, 0, 2]),
            )
            + udp
        )
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        sec = int(when)
        out.append(struct.pack("<IIII", sec, int((when - sec) * 1e6), len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def test_capture_reader_on_a_synthetic_capture() -> None:
    rtp = RtpSender(payload_type=0)
    audio = [(0.02 * i, rtp.next(b"\xff" * 160, 160).to_bytes()) for i in range(10)]
    start = rtp.timestamp
    events = [
        (0.2 + s.at, s.stamp(rtp, start, PT).to_bytes()) for s in DtmfSender(PT).schedule("1", 0.1)
    ]
    assert digits_from_capture(synthetic_pcap(audio + events + [(0.6, b"not rtp")])) == ["1"]


@pytest.mark.skipif(
    not SIPP_PCAP.exists(), reason=f"{SIPP_PCAP} missing (Debian package sip-tester)"
)
def test_sipp_dtmf_capture_gives_digit_1() -> None:
    assert digits_from_capture(SIPP_PCAP.read_bytes()) == ["1"]
