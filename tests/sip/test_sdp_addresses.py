"""Issue 14 (no reflection): SDP connection addresses that are not one unicast host are
refused - multicast, broadcast, and in an initial offer the unspecified address - with
a reason the 488 carries; a re-INVITE's ``c=0.0.0.0`` is still hold, and an ``a=rtcp``
address that names a network is ignored."""

from __future__ import annotations

import pytest

from confero.sip.offer_answer import RefusedAddress, accept_answer, answer, offer
from confero.sip.sdp import NoUsableMedia, parse


def _offer(address: str, *, extra: str = "", second: str | None = None) -> str:
    ip = "IP6" if ":" in address else "IP4"
    text = (
        f"v=0\r\no=- 1 1 IN {ip} {address}\r\ns=-\r\nc=IN {ip} {address}\r\nt=0 0\r\n"
        f"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{extra}"
    )
    if second is not None:
        text += f"m=audio 4002 RTP/AVP 0\r\nc=IN IP4 {second}\r\na=rtpmap:0 PCMU/8000\r\n"
    return text


def _answer(text: str, *, reoffer: bool = False) -> object:
    return answer(
        parse(text),
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=1,
        session_version=1,
        reoffer=reoffer,
    )


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("ff05::1:3", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "broadcast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
    ],
)
def test_an_initial_offer_naming_no_one_host_is_refused(address: str, why: str) -> None:
    with pytest.raises(RefusedAddress, match=why) as refused:
        _answer(_offer(address))
    assert isinstance(refused.value, NoUsableMedia), "the bridge answers it with 488"


def test_a_multicast_ttl_suffix_does_not_hide_the_address() -> None:
    with pytest.raises(RefusedAddress, match="multicast"):
        _answer(_offer("224.2.1.1").replace("c=IN IP4 224.2.1.1", "c=IN IP4 224.2.1.1/127"))


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.7", "192.168.1.255", "169.254.1.2", "::1"])
def test_unicast_hosts_are_answered(host: str) -> None:
    _, neg = answer(
        parse(_offer(host)), local_ip="192.0.2.1", local_port=40000, session_id=1, session_version=1
    )
    assert neg.remote_address == (host, 4000)


def test_a_reinvites_unspecified_address_is_hold_but_multicast_is_still_refused() -> None:
    _, neg = answer(
        parse(_offer("0.0.0.0")),
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=1,
        session_version=2,
        reoffer=True,
    )
    assert neg.on_hold and neg.remote_address is None
    with pytest.raises(RefusedAddress):
        _answer(_offer("224.0.0.1"), reoffer=True)


def test_a_usable_stream_after_a_refused_one_is_taken() -> None:
    _, neg = answer(
        parse(_offer("224.0.0.1", second="10.0.0.7")),
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=1,
        session_version=1,
    )
    assert neg.remote_address == ("10.0.0.7", 4002)


@pytest.mark.parametrize("rtcp", ["224.0.0.1", "255.255.255.255"])
def test_an_rtcp_attribute_naming_a_network_is_ignored(rtcp: str) -> None:
    text = _offer("10.0.0.7", extra=f"a=rtcp:5001 IN IP4 {rtcp}\r\n")
    _, neg = answer(
        parse(text), local_ip="192.0.2.1", local_port=40000, session_id=1, session_version=1
    )
    assert neg.rtcp_address == ("10.0.0.7", 4001), "RTCP to the RTP host, port + 1"


def test_an_answer_naming_a_multicast_address_is_refused() -> None:
    ours = offer(local_ip="192.0.2.1", local_port=40000, session_id=1, session_version=1)
    with pytest.raises(RefusedAddress):
        accept_answer(ours, parse(_offer("239.1.1.1")))
