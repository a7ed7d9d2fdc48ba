"""Offer/answer rules of issue 13 (F-PH1): wideband codecs, the ptime we answer, the
telephone-event range, RTCP addresses and mux, a stable o= line, our re-offer."""

from __future__ import annotations

import pytest

from confero.sip.offer_answer import (
    G722,
    OPUS,
    PREFERENCE,
    SessionOrigin,
    accept_answer,
    answer,
    offer,
)
from confero.sip.sdp import NoUsableMedia, parse
from tests.sip.answering import answer_text as _answer

BARESIP_OFFER = (
    "v=0\r\n"
    "o=- 1 2 IN IP4 10.0.0.7\r\n"
    "s=-\r\n"
    "c=IN IP4 10.0.0.7\r\n"
    "t=0 0\r\n"
    "m=audio 10000 RTP/AVP 9 96 0 8 101 102\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=rtpmap:102 telephone-event/48000\r\n"
    "a=fmtp:102 0-15\r\n"
    "a=ptime:30\r\n"
    "a=rtcp:10005\r\n"
    "a=sendrecv\r\n"
)


def test_answer_prefers_wideband_in_the_offerers_order_with_matching_events() -> None:
    sdp_answer, neg = answer(
        parse(BARESIP_OFFER),
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=1,
        session_version=1,
    )
    # G.722 comes before opus in the offer: the offerer's order decides among ours
    assert (neg.codec_name, neg.payload_type, neg.clock_rate) == ("G722", 9, 8000)
    assert neg.audio_format is G722 and neg.audio_format.sample_rate == 16_000
    assert neg.dtmf_payload_type == 101
    text = sdp_answer.to_text()
    assert "m=audio 40000 RTP/AVP 9 101\r\n" in text
    assert "a=rtpmap:9 G722/8000\r\n" in text
    # ptime: we send 20 ms packets, so we say 20; never an echo of the caller's 30
    assert "a=ptime:20\r\n" in text and "ptime:30" not in text
    # the offer's events, not ours: 0-15 answers 0-15
    assert "a=fmtp:101 0-15\r\n" in text
    # RFC 3605: the offer's a=rtcp port; no mux offered, none answered
    assert neg.rtcp_address == ("10.0.0.7", 10005) and not neg.rtcp_mux
    assert "rtcp-mux" not in text


def test_answer_opus_dynamic_type_with_its_own_clock_and_telephone_event() -> None:
    text = BARESIP_OFFER.replace("RTP/AVP 9 96 0 8 101 102", "RTP/AVP 96 0 101 102")
    sdp_answer, neg = answer(
        parse(text), local_ip="192.0.2.1", local_port=40000, session_id=1, session_version=1
    )
    assert (neg.codec_name, neg.payload_type, neg.clock_rate) == ("OPUS", 96, 48_000)
    assert neg.audio_format is OPUS
    # RFC 4733 2.1: the events run on the audio codec's clock
    assert neg.dtmf_payload_type == 102
    out = sdp_answer.to_text()
    assert "a=rtpmap:96 opus/48000/2\r\n" in out
    assert "a=fmtp:96 useinbandfec=1\r\n" in out
    assert "a=rtpmap:102 telephone-event/48000\r\n" in out


def test_answer_narrowband_when_asked_and_g722_without_rtpmap() -> None:
    _, neg = _answer(BARESIP_OFFER, prefer=("PCMA", "PCMU"))
    assert (neg.codec_name, neg.payload_type) == ("PCMU", 0), "the offerer's order decides"
    static_only = BARESIP_OFFER.replace("RTP/AVP 9 96 0 8 101 102", "RTP/AVP 9 0").replace(
        "a=rtpmap:9 G722/8000\r\n", ""
    )
    _, neg = _answer(static_only)
    assert neg.codec_name == "G722"
    mono_opus = BARESIP_OFFER.replace("opus/48000/2", "opus/44100/2")
    _, neg = _answer(mono_opus.replace("RTP/AVP 9 96 0 8", "RTP/AVP 96 0"))
    assert neg.codec_name == "PCMU", "opus at another clock rate is not opus"


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("0-15", "0-15"),
        ("0-16", "0-16"),
        ("0-255", "0-16"),
        ("0-11,12-15", "0-15"),
        ("0,1,2,3,4,5,6,7,8,9,10,11", "0-11"),
        ("1-3, 9", "1-3,9"),
        ("", "0-15"),  # no range given: RFC 4733's default
        ("garbage", "0-15"),
    ],
)
def test_telephone_event_range_is_the_offers_cut_to_ours(offered: str, answered: str) -> None:
    text = BARESIP_OFFER.replace("a=fmtp:101 0-15\r\n", f"a=fmtp:101 {offered}\r\n")
    sdp_answer, _ = _answer(text, prefer=("PCMU",))
    assert sdp_answer.media[0].fmtp == {101: answered}


def test_no_common_event_means_no_telephone_event() -> None:
    text = BARESIP_OFFER.replace("a=fmtp:101 0-15\r\n", "a=fmtp:101 32-41\r\n")
    sdp_answer, neg = _answer(text, prefer=("PCMU",))
    assert neg.dtmf_payload_type is None
    assert sdp_answer.media[0].formats == ["0"]


def test_answer_without_ptime_says_none() -> None:
    sdp_answer, _ = _answer(BARESIP_OFFER.replace("a=ptime:30\r\n", ""))
    assert "a=ptime" not in sdp_answer.to_text()


@pytest.mark.parametrize(
    ("attributes", "rtcp", "mux"),
    [
        ("", ("10.0.0.7", 10001), False),
        ("a=rtcp:10005\r\n", ("10.0.0.7", 10005), False),
        ("a=rtcp:10007 IN IP4 198.51.100.3\r\n", ("198.51.100.3", 10007), False),
        ("a=rtcp:bad\r\n", ("10.0.0.7", 10001), False),
        ("a=rtcp-mux\r\n", ("10.0.0.7", 10000), True),
    ],
)
def test_rtcp_address_and_mux(attributes: str, rtcp: tuple[str, int], mux: bool) -> None:
    text = BARESIP_OFFER.replace("a=rtcp:10005\r\n", attributes)
    sdp_answer, neg = _answer(text)
    assert neg.rtcp_address == rtcp
    assert neg.rtcp_mux is mux
    assert ("a=rtcp-mux\r\n" in sdp_answer.to_text()) is mux


def test_rtcp_address_is_none_on_hold_with_zero_address() -> None:
    held = BARESIP_OFFER.replace("c=IN IP4 10.0.0.7", "c=IN IP4 0.0.0.0")
    _, neg = _answer(held, reoffer=True)  # a re-INVITE's (issue 14: not an initial one)
    assert neg.remote_address is None and neg.rtcp_address is None
    assert neg.on_hold


def test_our_wideband_offer_and_the_answer_to_it() -> None:
    ours = offer(
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=7,
        session_version=1,
        codecs=PREFERENCE,
    )
    text = ours.to_text()
    assert "m=audio 40000 RTP/AVP 111 9 0 8 101\r\n" in text
    assert "a=rtpmap:111 opus/48000/2\r\na=rtpmap:9 G722/8000\r\n" in text
    assert "a=fmtp:111 useinbandfec=1\r\n" in text
    theirs, their_view = answer(
        parse(text), local_ip="198.51.100.9", local_port=30000, session_id=5, session_version=1
    )
    assert (their_view.codec_name, their_view.payload_type) == ("OPUS", 111)
    neg = accept_answer(ours, parse(theirs.to_text()))
    assert (neg.codec_name, neg.payload_type, neg.clock_rate) == ("OPUS", 111, 48_000)
    assert neg.rtcp_address == ("198.51.100.9", 30001)
    # a re-offer keeps the dynamic type the call negotiated (RFC 3264 8.3.2)
    again = offer(
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=7,
        session_version=2,
        codecs=("OPUS",),
        payload_types={"OPUS": 96},
        dtmf_payload_type=101,
    )
    assert again.media[0].formats == ["96", "101"]
    with pytest.raises(ValueError, match="dynamic"):
        offer(
            local_ip="192.0.2.1",
            local_port=1,
            session_id=1,
            session_version=1,
            codecs=("OPUS",),
            dtmf_payload_type=111,
        )


def test_accept_answer_in_an_ack_that_refuses() -> None:
    ours = offer(local_ip="192.0.2.1", local_port=40000, session_id=7, session_version=1)
    only_g729 = (
        "v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\n"
        "m=audio 10000 RTP/AVP 18\r\n"
    )
    with pytest.raises(NoUsableMedia):
        accept_answer(ours, parse(only_g729))


def test_session_origin_keeps_its_id_and_raises_the_version_on_change_only() -> None:
    origin = SessionOrigin(session_id=4242, version=1)

    def body(direction: str) -> bytes:
        return origin.stamp(
            offer(
                local_ip="192.0.2.1",
                local_port=40000,
                session_id=1,
                session_version=99,
                direction=direction,
            )
        )

    first = parse(body("sendrecv").decode())
    same = parse(body("sendrecv").decode())
    held = parse(body("recvonly").decode())
    resumed = parse(body("sendrecv").decode())
    assert {d.session_id for d in (first, same, held, resumed)} == {4242}
    assert [d.session_version for d in (first, same, held, resumed)] == [1, 1, 2, 3]
