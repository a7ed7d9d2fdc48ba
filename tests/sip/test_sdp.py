"""SDP parse/serialize (RFC 4566) and offer/answer (RFC 3264) with real-world offers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confero.sip import sdp
from confero.sip.offer_answer import PCMA, PCMU, Negotiated, accept_answer, answer, offer
from confero.sip.sdp import (
    MediaDescription,
    NoUsableMedia,
    SdpError,
    SessionDescription,
    parse,
)
from tests.sip.answering import answer_text as _answer

SIPP_OFFER = (
    "v=0\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\n"
    "s=-\n"
    "c=IN IP4 127.0.0.1\n"
    "t=0 0\n"
    "m=audio 6000 RTP/AVP 0\n"
    "a=rtpmap:0 PCMU/8000\n"
)

SIPP_DTMF_OFFER = (
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 8 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
)

LINPHONE_OFFER = (
    "v=0\r\n"
    "o=alice 2890 1042 IN IP4 192.168.1.20\r\n"
    "s=Talk\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "b=AS:380\r\n"
    "t=0 0\r\n"
    "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
    "m=audio 7078 RTP/AVP 96 9 0 8 101 97\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 useinbandfec=1\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=rtpmap:97 telephone-event/8000\r\n"
    "a=rtcp-fb:* trr-int 1000\r\n"
    "m=video 9078 RTP/AVP 98 99\r\n"
    "a=rtpmap:98 VP8/90000\r\n"
    "a=rtpmap:99 H264/90000\r\n"
    "a=fmtp:99 profile-level-id=42801F\r\n"
)

HOLD_SENDONLY = (
    "v=0\r\n"
    "o=user1 53655765 2353687638 IN IP4 10.0.0.5\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.5\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=sendonly\r\n"
)

HOLD_ZERO_ADDRESS = (
    "v=0\r\n"
    "o=user1 53655765 2353687639 IN IP4 10.0.0.5\r\n"
    "s=-\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "t=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n"
)


# ------------------------------------------------------------------------ parsing


def test_parse_sipp_default_offer() -> None:
    offer_sdp = parse(SIPP_OFFER)
    assert offer_sdp.username == "user1"
    assert offer_sdp.session_id == 53655765
    assert offer_sdp.session_version == 2353687637
    assert offer_sdp.origin_address == "127.0.0.1"
    assert offer_sdp.session_name == "-"
    assert offer_sdp.connection == "127.0.0.1"
    assert offer_sdp.timing == [(0, 0)]
    [m] = offer_sdp.media
    assert (m.media, m.port, m.proto, m.formats) == ("audio", 6000, "RTP/AVP", ["0"])
    assert m.rtpmap == {0: ("PCMU", 8000, None)}
    assert m.direction is None
    assert offer_sdp.media_direction(m) == "sendrecv"


def test_parse_keeps_unknown_attributes_and_reads_known_ones() -> None:
    parsed = parse(LINPHONE_OFFER)
    assert parsed.bandwidth == ["AS:380"]
    assert parsed.attributes[0].startswith("rtcp-xr:")
    audio, video = parsed.media
    assert audio.rtpmap[96] == ("opus", 48000, 2)
    assert audio.fmtp == {96: "useinbandfec=1"}
    assert audio.attributes == ["rtcp-fb:* trr-int 1000"]
    assert audio.codec(9) == ("G722", 8000, 1)  # static, no rtpmap
    assert video.media == "video"
    assert video.fmtp == {99: "profile-level-id=42801F"}


def test_parse_media_level_connection_direction_and_ptime() -> None:
    text = (
        "v=0\r\no=- 1 2 IN IP6 ::1\r\ns= \r\nt=0 0\r\na=recvonly\r\n"
        "m=audio 5004/2 RTP/AVP 0\r\nc=IN IP6 2001:db8::5\r\nb=TIAS:64000\r\n"
        "a=ptime:30\r\na=maxptime:60\r\na=inactive\r\n"
    )
    parsed = parse(text)
    assert parsed.session_name == "-"
    assert parsed.direction == "recvonly"
    [m] = parsed.media
    assert (m.port, m.port_count, m.connection) == (5004, 2, "2001:db8::5")
    assert (m.ptime, m.direction, m.attributes, m.bandwidth) == (
        30,
        "inactive",
        ["maxptime:60"],
        ["TIAS:64000"],
    )
    assert parsed.media_direction(m) == "inactive"
    assert "c=IN IP6 2001:db8::5\r\n" in parsed.to_text()


def test_parse_case_rules() -> None:
    # Encoding names are case-insensitive; attribute names and type letters are not.
    text = SIPP_OFFER.replace("PCMU", "pcmu") + "a=SendOnly\nX=ignored\n"
    parsed = parse(text)
    [m] = parsed.media
    assert m.direction is None
    assert m.attributes == ["SendOnly"]
    _, neg = _answer(text)
    assert neg.codec_name == "PCMU"
    assert not neg.on_hold


def test_parse_skips_informational_lines_and_multicast_ttl() -> None:
    text = (
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=x\ni=info\nu=http://x\ne=a@b\np=+1 555\n"
        "c=IN IP4 224.2.1.1/127\nt=3034423619 3042462419\nr=7d 1h 0 25h\nz=0 0\nk=clear:x\n"
        "m=audio 49170 RTP/AVP 0\ni=media info\n"
    )
    parsed = parse(text)
    assert parsed.connection == "224.2.1.1"
    assert parsed.timing == [(3034423619, 3042462419)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "v="),
        ("o=- 1 1 IN IP4 1.2.3.4\n", "v="),
        ("v=1\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n", "version"),
        ("v=0\ns=-\nt=0 0\n", "o="),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nt=0 0\n", "s="),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n", "t="),
        ("v=0\no=- x 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n", "session id"),
        ("v=0\no=- 1 1 IN IP4\ns=-\nt=0 0\n", "o="),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 70000 RTP/AVP 0\n", "port"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 7000 RTP/AVP\n", "m="),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 7000 RTP/AVP 0\n", "c="),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4\nt=0 0\n", "c="),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\ngarbage\nt=0 0\n", "not an SDP line"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n", "duplicate"),
        (SIPP_OFFER + "a=rtpmap:0 PCMU\n", "rtpmap"),
        (SIPP_OFFER + "a=rtpmap:300 PCMU/8000\n", "payload type"),
        (SIPP_OFFER + "a=ptime:abc\n", "ptime"),
        (SIPP_OFFER + "a=ptime:0\n", "ptime"),
        (SIPP_OFFER + "t=0 0\n", "media section"),
    ],
)
def test_parse_rejects_malformed(text: str, message: str) -> None:
    with pytest.raises(SdpError, match=message) as info:
        parse(text)
    assert len(str(info.value)) < 80


def test_parse_tolerates_port_zero_without_connection() -> None:
    parsed = parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=video 0 RTP/AVP 31\n")
    assert parsed.media[0].port == 0


def test_parse_accepts_no_media_but_answer_refuses() -> None:
    parsed = parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n")
    assert parsed.media == []
    with pytest.raises(NoUsableMedia):
        answer(parsed, local_ip="192.0.2.1", local_port=4000, session_id=1, session_version=1)


# -------------------------------------------------------------------- serializing


@pytest.mark.parametrize(
    "text", [SIPP_OFFER, SIPP_DTMF_OFFER, LINPHONE_OFFER, HOLD_SENDONLY, HOLD_ZERO_ADDRESS]
)
def test_serialization_round_trip(text: str) -> None:
    parsed = parse(text)
    out = parsed.to_text()
    assert out.endswith("\r\n")
    assert "\n" not in out.replace("\r\n", "")
    assert parse(out) == parsed


def test_to_text_order() -> None:
    out = parse(LINPHONE_OFFER).to_text()
    kinds = [line[0] for line in out.split("\r\n") if line]
    assert kinds[:6] == ["v", "o", "s", "c", "b", "t"]
    assert kinds.index("m") > kinds.index("t")
    assert out.startswith("v=0\r\no=alice 2890 1042 IN IP4 192.168.1.20\r\ns=Talk\r\n")


# ---------------------------------------------------------------------- answering


def test_answer_sipp_default_offer() -> None:
    sdp_answer, neg = _answer(SIPP_OFFER)
    assert neg == Negotiated(
        codec_name="PCMU",
        payload_type=0,
        clock_rate=8000,
        dtmf_payload_type=None,
        remote_address=("127.0.0.1", 6000),
        remote_direction="sendrecv",
        on_hold=False,
        ptime=20,
        rtcp_address=("127.0.0.1", 6001),
    )
    assert neg.audio_format is PCMU
    assert neg.we_send and neg.we_receive
    assert sdp_answer.to_text() == (
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.0.2.1\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.1\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=sendrecv\r\n"
    )


def test_answer_sipp_offer_with_telephone_event() -> None:
    sdp_answer, neg = _answer(SIPP_DTMF_OFFER)
    assert (neg.codec_name, neg.payload_type, neg.dtmf_payload_type) == ("PCMA", 8, 101)
    assert neg.audio_format is PCMA
    [m] = sdp_answer.media
    assert m.formats == ["8", "101"]
    assert m.rtpmap[101] == ("telephone-event", 8000, None)
    assert m.fmtp == {101: "0-15"}, "the offer's events, not more (issue 13)"
    assert "a=fmtp:101 0-15\r\n" in sdp_answer.to_text()


def test_answer_linphone_offer_picks_pcmu_and_rejects_video() -> None:
    sdp_answer, neg = _answer(LINPHONE_OFFER, prefer=("PCMU", "PCMA"))
    # opus (96) and G722 (9) come first but are not allowed here; telephone-event/48000
    # (101) does not match the 8 kHz codec, telephone-event/8000 (97) does.
    assert (neg.codec_name, neg.payload_type, neg.dtmf_payload_type) == ("PCMU", 0, 97)
    assert neg.remote_address == ("192.168.1.20", 7078)
    audio, video = sdp_answer.media
    assert (audio.port, audio.formats) == (40000, ["0", "97"])
    assert (video.media, video.port, video.proto, video.formats) == (
        "video",
        0,
        "RTP/AVP",
        ["98", "99"],
    )
    assert "m=video 0 RTP/AVP 98 99\r\n" in sdp_answer.to_text()


def test_answer_hold_reoffer_with_sendonly() -> None:
    sdp_answer, neg = _answer(HOLD_SENDONLY)
    assert neg.on_hold
    assert neg.remote_direction == "sendonly"
    assert neg.remote_address == ("10.0.0.5", 6000)
    assert not neg.we_send and neg.we_receive
    assert sdp_answer.media[0].direction == "recvonly"


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("sendrecv", "sendrecv"),
        ("sendonly", "recvonly"),
        ("recvonly", "sendonly"),
        ("inactive", "inactive"),
    ],
)
def test_answer_direction_mirrors_offer(offered: str, answered: str) -> None:
    # Session-level direction applies to media without their own.
    text = SIPP_OFFER.replace("t=0 0\n", f"t=0 0\na={offered}\n")
    sdp_answer, neg = _answer(text)
    assert sdp_answer.media[0].direction == answered
    assert neg.remote_direction == offered
    assert neg.on_hold == (offered in ("sendonly", "inactive"))


def test_answer_hold_with_zero_address() -> None:
    sdp_answer, neg = _answer(HOLD_ZERO_ADDRESS, reoffer=True)  # a re-INVITE (issue 14)
    assert neg.on_hold
    assert neg.remote_address is None
    assert neg.remote_direction == "sendrecv"
    assert not neg.we_send
    assert sdp_answer.media[0].port == 40000
    assert sdp_answer.media[0].direction == "sendrecv"


def test_answer_only_g729_is_not_acceptable() -> None:
    text = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 18").replace("0 PCMU", "18 G729")
    with pytest.raises(NoUsableMedia):
        _answer(text)


def test_answer_follows_offerer_order() -> None:
    text = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 8 0")
    _, neg = _answer(text)
    assert (neg.codec_name, neg.payload_type) == ("PCMA", 8)


def test_answer_prefer_restricts_codecs() -> None:
    text = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 0 8")
    _, neg = _answer(text, prefer=("pcma",))
    assert neg.codec_name == "PCMA"
    with pytest.raises(NoUsableMedia):
        _answer(SIPP_OFFER, prefer=("PCMA",))
    with pytest.raises(ValueError, match="prefer"):
        _answer(SIPP_OFFER, prefer=("G729",))


def test_answer_dynamic_96_telephone_event() -> None:
    text = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 0 96") + (
        "a=rtpmap:96 telephone-event/8000\na=fmtp:96 0-15\n"
    )
    sdp_answer, neg = _answer(text)
    assert neg.dtmf_payload_type == 96
    assert sdp_answer.media[0].fmtp == {96: "0-15"}


def test_answer_static_payload_type_without_rtpmap() -> None:
    text = SIPP_OFFER.replace("a=rtpmap:0 PCMU/8000\n", "")
    sdp_answer, neg = _answer(text)
    assert (neg.codec_name, neg.payload_type, neg.clock_rate) == ("PCMU", 0, 8000)
    assert sdp_answer.media[0].rtpmap == {0: ("PCMU", 8000, None)}


def test_answer_says_the_ptime_we_send_and_keeps_timing() -> None:
    text = SIPP_OFFER.replace("t=0 0", "t=3034423619 0") + "a=ptime:30\n"
    sdp_answer, neg = _answer(text)
    assert neg.ptime == 30
    # issue 13: we send 20 ms packets, so we answer 20, never an echo of their 30
    assert sdp_answer.media[0].ptime == 20
    assert "a=ptime:20\r\n" in sdp_answer.to_text()
    assert sdp_answer.timing == [(3034423619, 0)]


def test_answer_rejects_second_audio_and_uses_first_usable() -> None:
    text = (
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
        "m=audio 0 RTP/AVP 0\n"  # disabled by the offerer
        "m=audio 5000 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\n"
        "m=audio 5002 RTP/AVP 18\n"  # G729 only
        "m=audio 5004 RTP/AVP 8\n"
        "m=audio 5006 RTP/AVP 0\n"
    )
    sdp_answer, neg = _answer(text)
    assert [m.port for m in sdp_answer.media] == [0, 0, 0, 40000, 0]
    assert [m.proto for m in sdp_answer.media][1] == "RTP/SAVP"
    assert neg.remote_address == ("10.0.0.1", 5004)
    assert neg.codec_name == "PCMA"


def test_answer_media_connection_overrides_session() -> None:
    text = SIPP_OFFER + "c=IN IP4 10.9.8.7\n"
    _, neg = _answer(text)
    assert neg.remote_address == ("10.9.8.7", 6000)


def test_answer_refuses_fqdn_connection() -> None:
    with pytest.raises(NoUsableMedia):
        _answer(SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 pbx.example.com"))


def test_answer_ipv6_address_is_passed_on() -> None:
    text = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP6 2001:db8::1")
    _, neg = _answer(text)
    assert neg.remote_address == ("2001:db8::1", 6000)


# ------------------------------------------------------------------------ offering


def test_offer_text() -> None:
    ours = offer(local_ip="192.0.2.1", local_port=40000, session_id=7, session_version=8)
    assert ours.to_text() == (
        "v=0\r\n"
        "o=- 7 8 IN IP4 192.0.2.1\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.1\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    )
    assert parse(ours.to_text()) == ours


def test_offer_answer_round_trip() -> None:
    ours = offer(
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=7,
        session_version=8,
        codecs=("PCMA", "PCMU"),
        dtmf_payload_type=96,
    )
    theirs, their_view = answer(
        parse(ours.to_text()),
        local_ip="198.51.100.9",
        local_port=30000,
        session_id=99,
        session_version=1,
    )
    assert (their_view.codec_name, their_view.dtmf_payload_type) == ("PCMA", 96)
    assert their_view.remote_address == ("192.0.2.1", 40000)
    neg = accept_answer(ours, parse(theirs.to_text()))
    assert neg == Negotiated(
        codec_name="PCMA",
        payload_type=8,
        clock_rate=8000,
        dtmf_payload_type=96,
        remote_address=("198.51.100.9", 30000),
        rtcp_address=("198.51.100.9", 30001),
    )


def test_offer_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="codecs"):
        offer(local_ip="1.2.3.4", local_port=1, session_id=1, session_version=1, codecs=())
    with pytest.raises(ValueError, match="dynamic"):
        offer(
            local_ip="1.2.3.4", local_port=1, session_id=1, session_version=1, dtmf_payload_type=0
        )
    no_dtmf = offer(
        local_ip="1.2.3.4", local_port=1, session_id=1, session_version=1, dtmf_payload_type=None
    )
    assert no_dtmf.media[0].formats == ["0", "8"]


def _our_offer() -> SessionDescription:
    return offer(local_ip="192.0.2.1", local_port=40000, session_id=7, session_version=8)


def test_accept_answer_without_dtmf_and_with_hold() -> None:
    text = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 0 101") + "a=inactive\na=ptime:40\n"
    neg = accept_answer(_our_offer(), parse(text))
    assert neg.dtmf_payload_type is None  # telephone-event 101 has no rtpmap in the answer
    assert (neg.remote_direction, neg.on_hold, neg.ptime) == ("inactive", True, 40)


def test_accept_answer_rejected_stream() -> None:
    text = "v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0\n"
    with pytest.raises(NoUsableMedia, match="rejected"):
        accept_answer(_our_offer(), parse(text))


def test_accept_answer_codec_we_did_not_offer() -> None:
    text = SIPP_OFFER.replace("RTP/AVP 0", "RTP/AVP 9").replace("0 PCMU", "9 G722")
    with pytest.raises(NoUsableMedia):
        accept_answer(_our_offer(), parse(text))
    pcma_only = offer(
        local_ip="192.0.2.1", local_port=4, session_id=1, session_version=1, codecs=("PCMA",)
    )
    with pytest.raises(NoUsableMedia):
        accept_answer(pcma_only, parse(SIPP_OFFER))


def test_accept_answer_without_media() -> None:
    with pytest.raises(NoUsableMedia):
        accept_answer(_our_offer(), parse("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nt=0 0\n"))


def test_media_description_helpers() -> None:
    m = MediaDescription("audio", 1, "RTP/AVP", ["0", "x", "200", "96"])
    assert m.payload_types() == [0, 96]
    assert m.codec(96) is None
    assert m.codec(8) == sdp.STATIC_PAYLOAD_TYPES[8]


# --------------------------------------------------------------------------- fuzzing

_SDP_ALPHABET = st.sampled_from(list("vosctmab= :/\r\n0123456789.-*IPNAVRTUCMsendrcvoly"))


def _check_never_crashes(text: str) -> None:
    try:
        parsed = parse(text)
    except SdpError:
        return
    out = parsed.to_text()
    assert parse(out) == parsed
    with contextlib.suppress(SdpError):
        answer(parsed, local_ip="192.0.2.1", local_port=4000, session_id=1, session_version=1)
    with contextlib.suppress(SdpError):
        accept_answer(_our_offer(), parsed)
    with contextlib.suppress(SdpError):
        accept_answer(parsed, parsed)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.text(_SDP_ALPHABET)))
def test_fuzz_random_text(text: str) -> None:
    _check_never_crashes(text)


@st.composite
def _mutated_offer(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([SIPP_OFFER, SIPP_DTMF_OFFER, LINPHONE_OFFER, HOLD_SENDONLY]))
    lines = base.replace("\r\n", "\n").split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "insert", "splice", "truncate"]))
        if action == "delete" and len(lines) > 1:
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "insert":
            kind = draw(st.sampled_from([*list("vostcbam"), "x", "A", ""]))
            lines.insert(i, kind + "=" + draw(st.text(_SDP_ALPHABET, max_size=30)))
        elif action == "splice":
            line = lines[i]
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(st.text(max_size=8)) + line[pos + 1 :]
        else:
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]) - 1)))]
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_offer())
def test_fuzz_mutated_offers(text: str) -> None:
    _check_never_crashes(text)
