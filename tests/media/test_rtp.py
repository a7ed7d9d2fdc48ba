"""RTP packets, sender state, wrap-around and the receive filter (RFC 3550)."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.rtp import (
    RtpError,
    RtpExtension,
    RtpPacket,
    RtpReceiverFilter,
    RtpSender,
    Unwrapper,
    Verdict,
    is_rtcp,
)

PHONE = ("192.0.2.10", 40000)
OTHER = ("198.51.100.7", 40000)


def test_parse_a_handmade_packet() -> None:
    data = struct.pack("!BBHII", 0x80, 0x80 | 0, 4660, 0xDEADBEEF, 0x01020304) + b"\xff" * 160
    p = RtpPacket.parse(data)
    assert (p.payload_type, p.marker, p.sequence, p.timestamp, p.ssrc) == (
        0,
        True,
        4660,
        0xDEADBEEF,
        0x01020304,
    )
    assert p.payload == b"\xff" * 160 and p.csrcs == () and p.extension is None
    assert p.to_bytes() == data


def test_round_trip_with_csrcs_extension_and_padding() -> None:
    p = RtpPacket(
        payload_type=101,
        sequence=65535,
        timestamp=0xFFFFFFFF,
        ssrc=7,
        payload=b"\x05\x8a\x03\x20",
        marker=True,
        csrcs=(1, 2, 0xFFFFFFFF),
        extension=RtpExtension(0xBEDE, b"\x10\xab\x00\x00"),
        padding=3,
    )
    data = p.to_bytes()
    assert data[0] == 0x80 | 0x20 | 0x10 | 3
    assert data[-3:] == b"\x00\x00\x03"
    assert len(data) == 12 + 12 + 4 + 4 + 4 + 3
    assert RtpPacket.parse(data) == p
    assert RtpPacket.parse(bytearray(data)) == p
    assert RtpPacket.parse(memoryview(data)) == p


def test_padding_of_one_octet_and_empty_payload() -> None:
    p = RtpPacket(8, 1, 2, 3, b"", padding=1)
    assert p.to_bytes()[-1] == 1
    assert RtpPacket.parse(p.to_bytes()) == p


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "shorter"),
        (b"\x80\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00", "shorter"),
        (struct.pack("!BBHII", 0x40, 0, 1, 2, 3), "version"),
        (struct.pack("!BBHII", 0x00, 0, 1, 2, 3), "version"),
        (struct.pack("!BBHII", 0x82, 0, 1, 2, 3) + b"\x00" * 4, "CSRC"),
        (struct.pack("!BBHII", 0x90, 0, 1, 2, 3) + b"\x00\x00", "extension header"),
        (struct.pack("!BBHII", 0x90, 0, 1, 2, 3) + b"\xbe\xde\x00\x02" + b"\x00" * 4, "extension"),
        (struct.pack("!BBHII", 0xA0, 0, 1, 2, 3) + b"\x00\x00", "padding count is 0"),
        (struct.pack("!BBHII", 0xA0, 0, 1, 2, 3) + b"\x05", "padding count runs"),
        (struct.pack("!BBHII", 0xA1, 0, 1, 2, 3) + b"\x00\x00\x00\x04", "CSRC"),
    ],
)
def test_malformed_packets_raise_rtp_error(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        RtpPacket.parse(data)


def test_out_of_range_fields_raise_rtp_error() -> None:
    for kwargs in (
        {"payload_type": 128},
        {"sequence": 65536},
        {"timestamp": -1},
        {"ssrc": 1 << 32},
        {"csrcs": tuple(range(16))},
        {"padding": 256},
    ):
        fields = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0} | kwargs
        with pytest.raises(RtpError):
            RtpPacket(**fields)
    with pytest.raises(RtpError):
        RtpExtension(1, b"abc")
    assert issubclass(RtpError, ValueError)


def test_is_rtcp_demultiplexes_a_muxed_port() -> None:
    assert is_rtcp(b"\x81\xc9\x00\x07")  # RR
    assert is_rtcp(b"\x80\xc8")  # SR
    assert not is_rtcp(RtpPacket(0, 1, 2, 3).to_bytes())
    assert not is_rtcp(RtpPacket(111, 1, 2, 3, marker=True).to_bytes())
    assert not is_rtcp(b"\x80")


packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    extension=st.none()
    | st.builds(
        RtpExtension,
        st.integers(0, 0xFFFF),
        st.binary(max_size=32).map(lambda b: b[: len(b) - len(b) % 4]),
    ),
    padding=st.integers(0, 255),
)


@given(packets)
def test_any_packet_round_trips(packet: RtpPacket) -> None:
    assert RtpPacket.parse(packet.to_bytes()) == packet


@given(st.binary(max_size=128))
def test_parse_arbitrary_bytes_raises_only_rtp_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpError:
        return
    assert RtpPacket.parse(packet.to_bytes()) == packet


@given(packets, st.data())
def test_parse_corrupted_packets_raises_only_rtp_error(
    packet: RtpPacket, data: st.DataObject
) -> None:
    raw = bytearray(packet.to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    with contextlib.suppress(RtpError):
        RtpPacket.parse(bytes(raw))


# -- sender ----------------------------------------------------------------------------


def test_sender_starts_at_random_values_and_advances_per_frame() -> None:
    senders = [RtpSender(payload_type=0) for _ in range(4)]
    assert len({s.ssrc for s in senders}) > 1  # 1 in 2**96 chance of a false failure
    s = RtpSender(payload_type=0, ssrc=99, sequence=65534, timestamp=0xFFFFFF00)
    first = s.next(b"a" * 160, 160)
    second = s.next(b"b" * 160, 160)
    third = s.next(b"c" * 160, 160)
    assert [p.sequence for p in (first, second, third)] == [65534, 65535, 0]
    assert [p.timestamp for p in (first, second, third)] == [0xFFFFFF00, 0xFFFFFFA0, 0x40]
    assert [p.marker for p in (first, second, third)] == [True, False, False]
    assert {p.ssrc for p in (first, second, third)} == {99}
    assert (s.packets_sent, s.octets_sent) == (3, 480)


def test_sender_marks_the_first_packet_after_suppressed_silence() -> None:
    s = RtpSender(payload_type=8, sequence=10, timestamp=1000)
    s.next(b"x", 160)
    s.next(b"x", 160)
    s.pause(160)
    s.pause(160)
    p = s.next(b"x", 160)
    assert p.marker and p.sequence == 12 and p.timestamp == 1000 + 4 * 160
    assert not s.next(b"x", 160).marker
    assert s.next(b"x", 160, marker=True).marker


def test_sender_stamps_event_packets_with_an_explicit_timestamp() -> None:
    s = RtpSender(payload_type=0, sequence=5, timestamp=800)
    p = s.stamp(b"\x01\x0a\x00\xa0", timestamp=800, marker=True, payload_type=101)
    q = s.stamp(b"\x01\x0a\x01\x40", timestamp=800, payload_type=101)
    assert (p.payload_type, p.sequence, p.timestamp, p.marker) == (101, 5, 800, True)
    assert (q.sequence, q.timestamp, q.marker) == (6, 800, False)
    assert s.timestamp == 800  # stamping does not move the media clock


# -- unwrapping --------------------------------------------------------------------------


def test_unwrapper_extends_sequence_numbers_across_the_wrap() -> None:
    u = Unwrapper(16)
    assert [u.extend(s) for s in (65533, 65534, 65535, 0, 1, 2)] == [
        65533,
        65534,
        65535,
        65536,
        65537,
        65538,
    ]
    assert u.extend(65535) == 65535  # a late one from before the wrap
    assert u.highest == 65538
    assert u.extend(3) == 65539


def test_unwrapper_handles_reordering_at_the_start_and_timestamps() -> None:
    u = Unwrapper(16)
    assert u.extend(0) == 0
    assert u.extend(65535) == -1
    t = Unwrapper(32)
    assert t.extend(0xFFFFFF60) == 0xFFFFFF60
    assert t.extend(0) == 1 << 32
    assert t.peek(0xFFFFFFA0) == 0xFFFFFFA0
    t.reset()
    assert t.highest is None


@given(st.integers(0, 0xFFFF), st.lists(st.integers(-200, 200), max_size=50))
def test_unwrapper_recovers_any_walk_with_small_steps(start: int, steps: list[int]) -> None:
    u = Unwrapper(16)
    true = start
    assert u.extend(start) == start
    highest = start
    for step in steps:
        true = max(true + step, highest - 30000)
        assert u.extend(true & 0xFFFF) == true
        highest = max(highest, true)


# -- receive filter ----------------------------------------------------------------------


def pkt(ssrc: int = 1, seq: int = 0) -> RtpPacket:
    return RtpPacket(0, seq, seq * 160, ssrc, b"\xff" * 160)


def test_filter_latches_the_first_address_and_ssrc() -> None:
    f = RtpReceiverFilter()
    assert f.check(pkt(1, 0), PHONE, 0.0) is Verdict.NEW_SOURCE
    assert f.check(pkt(1, 1), PHONE, 0.02) is Verdict.ACCEPT
    assert f.check(pkt(1, 2), OTHER, 0.03) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(1, 2), (PHONE[0], PHONE[1] + 1), 0.03) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(2, 2), PHONE, 0.04) is Verdict.FOREIGN_SSRC
    assert f.check(pkt(1, 2), PHONE, 0.04) is Verdict.ACCEPT
    assert (f.accepted_count, f.foreign_address_count, f.foreign_ssrc_count) == (3, 2, 1)
    assert not Verdict.FOREIGN_SSRC.accepted and Verdict.NEW_SOURCE.accepted


def test_filter_accepts_a_new_ssrc_from_the_latched_address_after_silence() -> None:
    f = RtpReceiverFilter(ssrc_change_after=0.5)
    f.check(pkt(1, 0), PHONE, 10.0)
    assert f.check(pkt(2, 0), PHONE, 10.3) is Verdict.FOREIGN_SSRC  # old one still talking
    assert f.check(pkt(1, 1), PHONE, 10.4) is Verdict.ACCEPT
    assert f.check(pkt(2, 0), PHONE, 10.95) is Verdict.NEW_SOURCE  # 0.55 s of silence
    assert f.ssrc == 2
    assert f.check(pkt(1, 2), PHONE, 10.96) is Verdict.FOREIGN_SSRC
    assert f.check(pkt(3, 0), OTHER, 30.0) is Verdict.FOREIGN_ADDRESS  # never from elsewhere


def test_filter_with_the_sdp_address_ignores_a_first_packet_from_elsewhere() -> None:
    f = RtpReceiverFilter(expected=PHONE)
    assert f.check(pkt(5, 0), OTHER, 0.0) is Verdict.FOREIGN_ADDRESS
    assert f.ssrc is None
    assert f.check(pkt(1, 0), PHONE, 0.01) is Verdict.NEW_SOURCE
    f.expect(OTHER)  # re-INVITE moved the media
    assert f.check(pkt(1, 1), PHONE, 0.02) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(9, 0), OTHER, 0.03) is Verdict.NEW_SOURCE
    f.expect(None)  # relatch on the next packet
    assert f.check(pkt(4, 0), PHONE, 0.04) is Verdict.NEW_SOURCE
    assert f.address == PHONE


def test_filter_latches_only_to_the_sdp_or_signalling_host_never_a_stranger() -> None:
    """A phone behind NAT: its SDP names 192.0.2.2, its packets come from its router."""
    f = RtpReceiverFilter()
    router = ("198.51.100.7", 40002)
    f.expect(("192.0.2.2", 4000), frozenset({"192.0.2.2", router[0]}))
    assert f.address is None, "nothing latched before the first packet"
    assert f.check(pkt(9, 0), ("203.0.113.66", 5000), 0.0) is Verdict.FOREIGN_ADDRESS
    assert f.address is None, "a stranger's packet never latches"
    assert f.check(pkt(1, 0), router, 0.01) is Verdict.NEW_SOURCE
    assert f.address == router
    assert f.check(pkt(1, 1), router, 0.02) is Verdict.ACCEPT
    assert f.check(pkt(1, 2), ("192.0.2.2", 4000), 0.03) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(1, 2), (router[0], router[1] + 2), 0.03) is Verdict.FOREIGN_ADDRESS
    # Without latch hosts the SDP address is held exactly, as before.
    f.expect(("192.0.2.2", 4000))
    assert f.check(pkt(1, 3), router, 0.04) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(1, 3), ("192.0.2.2", 4000), 0.05) is Verdict.NEW_SOURCE


def test_filter_relatches_to_a_new_stream_from_the_latched_host_after_two_in_sequence() -> None:
    """Issue 13: the phone re-registered behind NAT and sends a new SSRC from a new port
    while its old stream has not timed out (it stopped): two sequential packets move the
    leg there once the old stream has been silent for half a second."""
    f = RtpReceiverFilter(ssrc_change_after=0.5)
    f.expect(("192.0.2.2", 4000), frozenset({"192.0.2.2", PHONE[0]}))
    assert f.check(pkt(1, 0), PHONE, 0.0) is Verdict.NEW_SOURCE
    moved = (PHONE[0], 50_000)
    assert f.check(pkt(7, 100), moved, 0.6) is Verdict.FOREIGN_ADDRESS  # on probation
    assert f.check(pkt(7, 101), moved, 0.62) is Verdict.NEW_SOURCE
    assert (f.address, f.ssrc, f.relatch_count) == (moved, 7, 1)
    # the replaced stream gets no probation back (no flapping between two streams)
    assert f.check(pkt(1, 2), PHONE, 0.63) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(1, 3), PHONE, 1.5) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(7, 102), moved, 1.6) is Verdict.ACCEPT
    # a new SSRC from the latched address itself: also after two in sequence
    assert f.check(pkt(8, 500), moved, 1.61) is Verdict.FOREIGN_SSRC
    assert f.check(pkt(8, 501), moved, 1.62) is Verdict.NEW_SOURCE
    assert f.ssrc == 8


def test_filter_keeps_a_talking_phone_from_anyone_else_on_its_host() -> None:
    """Issue 14 ("RTP bleed"): someone behind the same NAT (or another process on the same
    host) sends a perfect run to the leg's port while the phone talks: the leg stays with
    the phone, which keeps being heard and answered; were it moved, the stranger would
    hear the room and the phone's digits would be dropped."""
    f = RtpReceiverFilter(ssrc_change_after=0.5)
    f.expect(("192.0.2.2", 4000), frozenset({"192.0.2.2", PHONE[0]}))
    assert f.check(pkt(1, 0), PHONE, 0.0) is Verdict.NEW_SOURCE
    neighbour = (PHONE[0], 50_000)
    for i in range(1, 200):  # four seconds of both, interleaved
        now = i * 0.02
        assert f.check(pkt(9, 1000 + i), neighbour, now) is Verdict.FOREIGN_ADDRESS
        assert f.check(pkt(1, i), PHONE, now + 0.001) is Verdict.ACCEPT
    assert (f.address, f.ssrc, f.relatch_count) == (PHONE, 1, 0)


def test_filter_never_relatches_to_a_jumble_or_a_stranger() -> None:
    f = RtpReceiverFilter()
    assert f.check(pkt(1, 0), PHONE, 0.0) is Verdict.NEW_SOURCE
    other_port = (PHONE[0], 50_000)
    for seq in (10, 12, 11, 30, 29):  # never two in sequence
        assert f.check(pkt(7, seq), other_port, 0.01) is Verdict.FOREIGN_ADDRESS
    # the second packet from another port than the first is no run either
    assert f.check(pkt(7, 31), (PHONE[0], 50_002), 0.01) is Verdict.FOREIGN_ADDRESS
    for seq in range(5):  # a perfect run from a stranger's host, even after silence
        assert f.check(pkt(9, seq), OTHER, 10.0 + seq) is Verdict.FOREIGN_ADDRESS
    assert (f.address, f.ssrc, f.relatch_count) == (PHONE, 1, 0)


def test_filter_moves_the_same_ssrc_to_a_new_port_only_after_the_old_port_fell_silent() -> None:
    """The NAT mapping changed but the stream did not: same SSRC, new port."""
    f = RtpReceiverFilter(port_change_after=1.0)
    assert f.check(pkt(1, 0), PHONE, 0.0) is Verdict.NEW_SOURCE
    moved = (PHONE[0], PHONE[1] + 2)
    assert f.check(pkt(1, 1), moved, 0.5) is Verdict.FOREIGN_ADDRESS  # old port heard 0.5 s ago
    assert f.check(pkt(1, 2), moved, 0.9) is Verdict.FOREIGN_ADDRESS
    assert f.check(pkt(1, 3), moved, 1.05) is Verdict.ACCEPT  # a second of silence: moved
    assert (f.address, f.relatch_count) == (moved, 1)
    assert f.check(pkt(1, 4), PHONE, 1.06) is Verdict.FOREIGN_ADDRESS
    # before any packet latched, the SDP address is held exactly, port included
    g = RtpReceiverFilter(expected=PHONE)
    assert g.check(pkt(1, 0), moved, 0.0) is Verdict.FOREIGN_ADDRESS
    assert g.check(pkt(1, 1), moved, 5.0) is Verdict.FOREIGN_ADDRESS


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not is_rtcp(data):
            self.got.append(data)


async def test_a_leg_follows_a_phone_that_reappears_behind_a_new_nat_mapping() -> None:
    """Issue 13: the phone re-registered and sends a new stream from a new port of the
    same host once its old one stopped: the leg hears it and answers there, not to the
    old port."""
    loop = asyncio.get_running_loop()
    leg = RtpAudioLeg("l", PCMU, dtmf_payload_type=None)
    port = await leg.open("127.0.0.1")
    old, old_in = await loop.create_datagram_endpoint(_Sink, local_addr=("127.0.0.1", 0))
    new, new_in = await loop.create_datagram_endpoint(_Sink, local_addr=("127.0.0.1", 0))
    try:
        leg.set_remote(("192.0.2.2", 4000), peer_host="127.0.0.1")  # SDP: a private address
        first, second = RtpSender(0), RtpSender(0)
        for _ in range(3):
            old.sendto(first.next(b"\xff" * 160, 160).to_bytes(), ("127.0.0.1", port))
            await asyncio.sleep(0.01)
        assert leg.remote == old.get_extra_info("sockname")
        await asyncio.sleep(0.6)  # the old stream stopped with the phone's restart
        for _ in range(3):
            new.sendto(second.next(b"\xff" * 160, 160).to_bytes(), ("127.0.0.1", port))
            await asyncio.sleep(0.01)
        assert leg.remote == new.get_extra_info("sockname")
        leg.send_encoded(b"\xff" * 160)
        await asyncio.sleep(0.05)
        assert len(new_in.got) == 1 and not old_in.got, "answered at the new mapping"
        assert leg.stats.received == 5, "the new stream's first packet was on probation"
        assert leg.quality().packets_received == 2, "statistics of the new stream only"
    finally:
        leg.close()
        old.close()
        new.close()


async def test_an_unproven_sdp_host_gets_nothing_until_it_sends() -> None:
    """Issue 14: a caller's SDP names another host than its SIP came from: no RTP goes
    there (a reflection amplifier) until that host's own RTP latches the leg."""
    loop = asyncio.get_running_loop()
    leg = RtpAudioLeg("l", PCMU, dtmf_payload_type=None)
    port = await leg.open("127.0.0.1")
    victim, victim_in = await loop.create_datagram_endpoint(_Sink, local_addr=("127.0.0.3", 0))
    try:
        address = victim.get_extra_info("sockname")
        leg.set_remote(address, peer_host="127.0.0.1", proven_only=True)
        for _ in range(5):
            leg.send_encoded(b"\xff" * 160)
        await asyncio.sleep(0.05)
        assert not victim_in.got, "nothing to a host that did not ask for it"
        sender = RtpSender(0)
        victim.sendto(sender.next(b"\xff" * 160, 160).to_bytes(), ("127.0.0.1", port))
        await asyncio.sleep(0.02)
        leg.send_encoded(b"\xff" * 160)
        await asyncio.sleep(0.05)
        assert len(victim_in.got) == 1, "its own RTP proved it: answered there"
    finally:
        leg.close()
        victim.close()


async def test_the_sip_peers_own_host_is_sent_to_at_once() -> None:
    loop = asyncio.get_running_loop()
    leg = RtpAudioLeg("l", PCMU, dtmf_payload_type=None)
    await leg.open("127.0.0.1")
    phone, phone_in = await loop.create_datagram_endpoint(_Sink, local_addr=("127.0.0.1", 0))
    try:
        leg.set_remote(phone.get_extra_info("sockname"), peer_host="127.0.0.1", proven_only=True)
        leg.send_encoded(b"\xff" * 160)
        await asyncio.sleep(0.05)
        assert len(phone_in.got) == 1, "the host that ACKed our 200 hears the prompt at once"
    finally:
        leg.close()
        phone.close()
