"""The end-to-end tooling itself, without our server: the pcap generator round trip, and
sipp running our scenarios against sipp UAS peers (which proves the XML and the pcap are
valid for sipp, and that the RTP leaves from the ``-mp`` port the SDP announces)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import time
from pathlib import Path
from typing import Literal

import pytest

from confero.media.dtmf import DtmfDigit, DtmfReceiver
from confero.media.rtp import RtpPacket
from confero.media.tone import detect_frequency
from tests.e2e import scenarios
from tests.e2e.pcap import (
    DLT_EN10MB,
    Stream,
    TimedPacket,
    decode_audio,
    pcap_duration,
    read_pcap,
    read_rtp,
    rtp_events,
    write_pcap,
)
from tests.e2e.sipp import SIPP, RtpTap, Sipp, free_udp_port, sipp_available

needs_sipp = pytest.mark.skipif(not sipp_available(), reason=f"sipp missing at {SIPP}")
SIPP_SAMPLE = Path("/usr/share/sip-tester/dtmf_2833_1.pcap")


def digits_of(packets: list[TimedPacket], payload_type: int = 101) -> list[DtmfDigit]:
    rx = DtmfReceiver()
    out: list[DtmfDigit] = []
    last = 0.0
    for t in packets:
        last = t.at
        if t.packet.payload_type == payload_type:
            out += rx.feed(t.packet, t.at)
        else:
            out += rx.poll(t.at)
    return out + rx.poll(last + 10.0)


# -- pcap generator ---------------------------------------------------------------------------


@pytest.mark.parametrize("digits", ["1", "1111#", "*30", "0123456789*#", "11", "##**"])
def test_pcap_digits_round_trip(tmp_path: Path, digits: str) -> None:
    path = Stream().silence(0.5).digits(digits).silence(0.3).write(tmp_path / "d.pcap")
    found = digits_of(read_rtp(path))
    assert "".join(d.digit for d in found) == digits
    assert all(d.ended_by == "end" for d in found)
    assert all(abs(d.duration - 0.16) < 1e-9 for d in found)
    assert len({d.timestamp for d in found}) == len(digits)  # every press its own event


def test_pcap_tone_frequency(tmp_path: Path) -> None:
    path = Stream().silence(0.2).digits("5").tone(1000, 1.0).write(tmp_path / "t.pcap")
    packets = read_rtp(path)
    audio = decode_audio([p for p in packets if p.at > 0.5])  # after silence + press
    assert len(audio) == 8000
    assert detect_frequency(audio, 8000) == pytest.approx(1000, abs=2)
    assert detect_frequency(decode_audio(read_rtp(Stream().tone(440, 0.5).write(path))), 8000) == (
        pytest.approx(440, abs=2)
    )


def test_pcap_is_one_sane_stream(tmp_path: Path) -> None:
    stream = Stream().silence(1.0).digits("1").silence(0.5).digits("123456#").tone(1000, 2)
    path = stream.write(tmp_path / "s.pcap", src=("127.0.0.1", 16000), dst=("127.0.0.1", 6000))
    captured = read_pcap(path)
    packets = [RtpPacket.parse(c.payload) for c in captured]
    assert len(packets) == len(stream.packets)
    assert [p.to_bytes() for p in packets] == [t.packet.to_bytes() for t in stream.packets]
    assert {c.src for c in captured} == {("127.0.0.1", 16000)}
    assert {c.dst for c in captured} == {("127.0.0.1", 6000)}
    assert len({p.ssrc for p in packets}) == 1
    for a, b in itertools.pairwise(packets):
        assert b.sequence == (a.sequence + 1) & 0xFFFF
        assert (b.timestamp - a.timestamp) & 0xFFFFFFFF < 0x80000000  # never goes back
    times = [c.time for c in captured]
    assert times == sorted(times)
    # the capture's clock and the RTP clock agree (the pacing sipp replays is the media's)
    audio = [(c.time, p) for c, p in zip(captured, packets, strict=True) if p.payload_type == 0]
    (t0, p0), (t1, p1) = audio[0], audio[-1]
    assert ((p1.timestamp - p0.timestamp) & 0xFFFFFFFF) / 8000 == pytest.approx(t1 - t0, abs=1e-3)
    assert pcap_duration(path) == pytest.approx(stream.duration - 0.02, abs=1e-3)
    # the header sipp checks: classic pcap, Ethernet link type, untruncated packets
    assert path.read_bytes()[:4] == bytes.fromhex("d4c3b2a1")
    assert int.from_bytes(path.read_bytes()[20:24], "little") == DLT_EN10MB


def test_events_follow_rfc4733_shape() -> None:
    packets = rtp_events("7")
    events = [t.packet.payload for t in packets]
    assert [t.packet.marker for t in packets] == [True] + [False] * (len(packets) - 1)
    assert len({t.packet.timestamp for t in packets}) == 1
    ends = [e for e in events if e[1] & 0x80]
    assert len(ends) == 3 and len(set(ends)) == 1
    durations = [int.from_bytes(e[2:], "big") for e in events]
    assert durations == sorted(durations) and durations[-1] == 1280
    gaps = [b.at - a.at for a, b in itertools.pairwise(packets)]
    assert max(gaps) <= 0.05 + 1e-9


def test_write_pcap_rejects_time_going_back(tmp_path: Path) -> None:
    p = RtpPacket(0, 1, 1, 1, b"\xff" * 160)
    with pytest.raises(ValueError):
        write_pcap(tmp_path / "x.pcap", [(1.0, p), (0.5, p)])


@pytest.mark.skipif(not SIPP_SAMPLE.exists(), reason=f"{SIPP_SAMPLE} missing (sip-tester)")
def test_reader_reads_sipps_own_capture() -> None:
    assert [d.digit for d in digits_of(read_rtp(SIPP_SAMPLE))] == ["1"]


# -- scenarios ------------------------------------------------------------------------------


def test_dial_scenario_waits_for_the_pcap(tmp_path: Path) -> None:
    path = Stream().silence(2.0).write(tmp_path / "a.pcap")
    xml = scenarios.dial(path, hold_seconds=1.5, info_digits="1#")
    assert f'play_pcap_audio="{path}"' in xml
    assert '<pause milliseconds="2180"/>' in xml  # 1.98 s between first and last + 0.2
    assert '<pause milliseconds="1500"/>' in xml
    assert xml.count("INFO [next_url] SIP/2.0") == 2
    assert "CSeq: 4 BYE" in xml
    with pytest.raises(ValueError):
        scenarios.sdp_offer(codecs="0 96")
    with pytest.raises(ValueError):
        scenarios.raw("OPTIONS x ]]> y")


# -- sipp against sipp ------------------------------------------------------------------------

#: sipp's built-in UAS, but its SDP sends our RTP to the port in [rtp_port] (a test socket)
UAS_RTP_TO_TEST = (
    subprocess.run([SIPP, "-sd", "uas"], capture_output=True, text=True, check=False).stdout
    if sipp_available()
    else ""
).replace("m=audio [media_port] RTP/AVP 0", "m=audio [rtp_port] RTP/AVP 0 101")

_UAS_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="test uas">
"""

_REPLY = """
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
"""

#: a reply inside the dialog (the request's To has the tag already)
_REPLY_IN_DIALOG = """
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      {extra}
      Content-Length: 0
"""

_ANSWER = """
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
"""


def _send(text: str, retrans: bool = False) -> str:
    attr = ' retrans="500"' if retrans else ""
    return f"<send{attr}><![CDATA[\n{text}\n]]></send>\n"


#: answers, takes DTMF INFOs (counting them into [$n]), then hangs up itself
UAS_INFO_THEN_BYE = (
    _UAS_HEAD
    + """<recv request="INVITE" rrs="true">
  <action>
    <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller"/>
    <ereg regexp=".*" search_in="hdr" header="To:" assign_to="callee"/>
  </action>
</recv>
"""
    + _send(_ANSWER, retrans=True)
    + '<recv request="ACK"/>\n'
    + "".join(
        '<recv request="INFO"><action><ereg regexp="Signal=[0-9*#]" search_in="body" '
        f'check_it="true" assign_to="d{i}"/></action></recv>\n'
        # sipp refuses a variable that is set and never used: echo it in the reply
        + _send(_REPLY_IN_DIALOG.format(status="200 OK", extra=f"X-Got: [$d{i}]"))
        for i in range(3)
    )
    + """<pause milliseconds="300"/>
<send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From:[$callee];tag=[pid]SIPpTag01[call_number]
      To:[$caller]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
]]></send>
<recv response="200"/>
</scenario>
"""
)

#: rings and never answers: waits for the CANCEL
UAS_RING_THEN_CANCELLED = (
    _UAS_HEAD
    + '<recv request="INVITE"/>\n'
    + _send(_REPLY.format(status="180 Ringing"))
    + '<recv request="CANCEL"/>\n'
    + _send(_REPLY.format(status="200 OK"))
    + '<pause milliseconds="50"/>\n'
    + """<send><![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: 1 INVITE
      Content-Length: 0
]]></send>
<recv request="ACK"/>
</scenario>
"""
)

UAS_OPTIONS = (
    _UAS_HEAD
    + '<recv request="OPTIONS"/>\n'
    + _send(_REPLY.format(status="200 OK"))
    + "</scenario>\n"
)

UAS_REJECT_FOO = (
    _UAS_HEAD
    + '<recv request="FOO"/>\n'
    + _send(_REPLY.format(status="501 Not Implemented"))
    + "</scenario>\n"
)


async def _uas(
    xml: str,
    tmp_path: Path,
    name: str,
    *,
    keys: dict[str, str] | None = None,
    transport: Literal["udp", "tcp"] = "udp",
) -> Sipp:
    uas = Sipp(
        xml, server=True, keys=keys, transport=transport, workdir=tmp_path / name, timeout=30
    )
    await uas.start()
    await _listening(uas)
    return uas


async def _listening(sipp: Sipp, within: float = 5.0) -> None:
    """Wait until the sipp server is bound (its SIP port no longer bindable)."""
    deadline = time.monotonic() + within
    kind = socket.SOCK_STREAM if sipp.transport == "tcp" else socket.SOCK_DGRAM
    while time.monotonic() < deadline:
        assert sipp.running, sipp.report()
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((sipp.local_ip, sipp.local_port))
            except OSError:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("sipp server did not bind its port\n" + sipp.report())


@needs_sipp
async def test_dial_with_pcap_against_sipp_uas(tmp_path: Path) -> None:
    """sipp's built-in UAS; our dial scenario plays digits and audio from our pcap."""
    stream = Stream().silence(0.3).digits("1234#").tone(1000, 0.5)
    pcap = stream.write(tmp_path / "dial.pcap")
    uas = await _uas("sn:uas", tmp_path, "uas")
    try:
        target = (uas.local_ip, uas.local_port)
        xml = scenarios.dial(pcap, hold_seconds=1, expect_bye_from_server=False, info_digits=None)
        async with Sipp(xml, target, workdir=tmp_path / "uac", timeout=30) as uac:
            rc = await uac.wait(30)
            assert rc == 0, uac.report()
            assert f"npkts {len(stream.packets)}" in uac.stderr  # sipp read every packet
            assert "SIP/2.0 200 OK" in uac.messages
            assert f"m=audio {uac.media_port} RTP/AVP 0 101" in uac.messages
        assert await uas.wait(10) == 0, uas.report()
    finally:
        await uas.kill()


@needs_sipp
async def test_pcap_rtp_arrives_unchanged_from_the_sdp_media_port(tmp_path: Path) -> None:
    """What the server sees: the pcap's RTP packets, byte for byte, from the caller's
    ``-mp`` port (the port in its SDP), at the capture's pace, and the digits in them."""
    stream = Stream().silence(0.2).digits("1111#").tone(1000, 0.6)
    pcap = stream.write(tmp_path / "rtp.pcap")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp:
        rtp.bind(("127.0.0.1", 0))
        rtp.setblocking(False)
        keys = {"rtp_port": str(rtp.getsockname()[1])}
        uas = await _uas(UAS_RTP_TO_TEST, tmp_path, "uas", keys=keys)
        try:
            xml = scenarios.dial(pcap, hold_seconds=0.3)
            target = (uas.local_ip, uas.local_port)
            got: list[tuple[float, tuple[str, int], bytes]] = []
            async with Sipp(xml, target, workdir=tmp_path / "uac", timeout=30) as uac:
                loop = asyncio.get_running_loop()
                while uac.running:
                    try:
                        data, source = await asyncio.wait_for(loop.sock_recvfrom(rtp, 2048), 0.2)
                    except TimeoutError:
                        continue
                    got.append((time.monotonic(), source, data))
                assert await uac.wait(5) == 0, uac.report()
                media_port = uac.media_port
        finally:
            await uas.kill()
    assert {source for _, source, _ in got} == {("127.0.0.1", media_port)}
    assert [data for _, _, data in got] == [t.packet.to_bytes() for t in stream.packets]
    elapsed = got[-1][0] - got[0][0]
    assert elapsed == pytest.approx(stream.packets[-1].at, abs=0.25)
    received = [TimedPacket(at - got[0][0], RtpPacket.parse(data)) for at, _, data in got]
    assert "".join(d.digit for d in digits_of(received)) == "1111#"


@needs_sipp
async def test_dial_with_info_digits_and_server_hangup(tmp_path: Path) -> None:
    uas = await _uas(UAS_INFO_THEN_BYE, tmp_path, "uas")
    try:
        xml = scenarios.dial(None, info_digits="4*#", expect_bye_from_server=True, bye_timeout=10)
        target = (uas.local_ip, uas.local_port)
        async with Sipp(xml, target, workdir=tmp_path / "uac", timeout=30) as uac:
            assert await uac.wait(30) == 0, uac.report()
            messages = uac.messages
        assert await uas.wait(10) == 0, uas.report()
    finally:
        await uas.kill()
    for digit in "4*#":
        assert f"Signal={digit}\r\nDuration=160\r\n" in messages
        assert f"X-Got: Signal={digit}\r\n" in messages  # the UAS found it in the body
    assert "Content-Type: application/dtmf-relay" in messages
    assert "BYE sip:sipp@127.0.0.1" in messages  # the server's BYE, to our Contact


@needs_sipp
async def test_dial_over_tcp(tmp_path: Path) -> None:
    uas = await _uas("sn:uas", tmp_path, "uas", transport="tcp")
    try:
        xml = scenarios.dial(None, hold_seconds=0.2)
        target = (uas.local_ip, uas.local_port)
        async with Sipp(xml, target, transport="tcp", workdir=tmp_path / "uac") as uac:
            assert await uac.wait(30) == 0, uac.report()
            assert "TCP message sent" in uac.messages
            assert "SIP/2.0/TCP" in uac.messages
    finally:
        await uas.kill()


@needs_sipp
async def test_cancel_before_answer(tmp_path: Path) -> None:
    uas = await _uas(UAS_RING_THEN_CANCELLED, tmp_path, "uas")
    try:
        xml = scenarios.cancel_before_answer(ring_seconds=0.2)
        target = (uas.local_ip, uas.local_port)
        async with Sipp(xml, target, workdir=tmp_path / "uac", timeout=30) as uac:
            assert await uac.wait(30) == 0, uac.report()
            messages = uac.messages
        assert await uas.wait(10) == 0, uas.report()
    finally:
        await uas.kill()
    invite_branch = messages.split("INVITE sip:", 1)[1].split("branch=", 1)[1].split("\r\n")[0]
    cancel = messages.split("CANCEL sip:", 1)[1]
    assert f"branch={invite_branch}\r\n" in cancel.split("\r\n\r\n")[0]
    ack = messages.split("ACK sip:", 1)[1]
    assert f"branch={invite_branch}\r\n" in ack.split("\r\n\r\n")[0]
    assert "SIP/2.0 487" in messages


@needs_sipp
async def test_cancel_scenario_fails_if_the_call_is_answered(tmp_path: Path) -> None:
    uas = await _uas("sn:uas", tmp_path, "uas")
    try:
        xml = scenarios.cancel_before_answer(ring_seconds=0.3, answer_timeout=2)
        target = (uas.local_ip, uas.local_port)
        async with Sipp(xml, target, workdir=tmp_path / "uac", timeout=20) as uac:
            assert await uac.wait(30) != 0, uac.report()
    finally:
        await uas.kill()


@needs_sipp
async def test_options_ping_and_raw(tmp_path: Path) -> None:
    uas = await _uas(UAS_OPTIONS, tmp_path, "uas1")
    try:
        async with Sipp(
            scenarios.options_ping(), (uas.local_ip, uas.local_port), workdir=tmp_path / "o"
        ) as uac:
            assert await uac.wait(30) == 0, uac.report()
    finally:
        await uas.kill()

    uas = await _uas(UAS_REJECT_FOO, tmp_path, "uas2")
    message = """FOO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:x@[local_ip]>;tag=1
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 7 FOO
Content-Length: 0
"""
    try:
        target = (uas.local_ip, uas.local_port)
        async with Sipp(scenarios.raw(message, expect_status=501), target) as uac:
            assert await uac.wait(30) == 0, uac.report()
            assert "FOO sip:100@" in uac.messages
    finally:
        await uas.kill()


@needs_sipp
async def test_failed_scenario_gives_nonzero_exit_and_the_log(tmp_path: Path) -> None:
    """Nothing listens: the INVITE times out, sipp exits 1, the report tells why."""
    target = ("127.0.0.1", free_udp_port())
    xml = scenarios.dial(None, hold_seconds=0.1, answer_timeout=1)
    started = time.monotonic()
    async with Sipp(xml, target, workdir=tmp_path / "uac", timeout=20) as uac:
        rc = await uac.wait(30)
        assert rc != 0
        assert time.monotonic() - started < 5  # the answer timeout, not sipp's global one
        assert "INVITE sip:100@" in uac.messages
        assert "exit code" in uac.report()


@needs_sipp
async def test_wait_timeout_kills_sipp(tmp_path: Path) -> None:
    xml = scenarios.dial(None, expect_bye_from_server=True)
    async with Sipp(xml, ("127.0.0.1", free_udp_port()), workdir=tmp_path / "uac") as uac:
        with pytest.raises(TimeoutError):
            await uac.wait(0.5)
        assert not uac.running


@needs_sipp
async def test_tap_records_what_the_caller_hears(tmp_path: Path) -> None:
    """The UAS echoes our RTP (``-rtp_echo``) back to the caller's ``-mp`` port, which
    sipp owns; the tap still sees every packet, from the UAS's media port."""
    stream = Stream().digits("9").tone(700, 0.6)
    pcap = stream.write(tmp_path / "echo.pcap")
    uas = Sipp("sn:uas", server=True, workdir=tmp_path / "uas", extra_args=["-rtp_echo"])
    await uas.start()
    await _listening(uas)
    try:
        xml = scenarios.dial(pcap, hold_seconds=0.3)
        uac = Sipp(xml, (uas.local_ip, uas.local_port), workdir=tmp_path / "uac")
        async with RtpTap(uac.media_port) as tap, uac:
            assert await uac.wait(30) == 0, uac.report()
    finally:
        await uas.kill()
    assert {p.src for p in tap.packets} == {("127.0.0.1", uas.media_port)}
    heard = [RtpPacket.parse(p.payload) for p in tap.packets]
    assert [p.to_bytes() for p in heard] == [t.packet.to_bytes() for t in stream.packets]
    assert detect_frequency(decode_audio(heard), 8000) == pytest.approx(700, abs=2)
