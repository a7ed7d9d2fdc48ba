"""The caller's address behind trusted proxies (confero/sip/source.py, issue 16)."""

from __future__ import annotations

from confero.sip.address import Via
from confero.sip.source import caller_host


def _vias(*texts: str) -> list[Via]:
    return [Via.parse(t) for t in texts]


KAMAILIO = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-k"
PHONE = "SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-p;received=203.0.113.7;rport=40000"


def test_a_direct_caller_is_the_packets_source_whatever_its_vias_say() -> None:
    vias = _vias("SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK-a", PHONE)
    assert caller_host(vias, "198.51.100.1") == "198.51.100.1"
    assert caller_host(vias, "198.51.100.1", lambda h: h == "10.0.0.1") == "198.51.100.1"


def test_behind_a_trusted_proxy_the_caller_is_where_the_proxy_received_it() -> None:
    trusted = {"10.0.0.1"}.__contains__
    assert caller_host(_vias(KAMAILIO, PHONE), "10.0.0.1", trusted) == "203.0.113.7"


def test_without_received_the_callers_own_host_counts() -> None:
    plain = "SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK-q"
    assert caller_host(_vias(KAMAILIO, plain), "10.0.0.1", {"10.0.0.1"}.__contains__) == (
        "203.0.113.9"
    )


def test_a_chain_of_trusted_proxies_is_walked_and_an_untrusted_hop_stops_it() -> None:
    edge = "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-e;received=10.0.0.2"
    trusted = {"10.0.0.1", "10.0.0.2"}.__contains__
    assert caller_host(_vias(KAMAILIO, edge, PHONE), "10.0.0.1", trusted) == "203.0.113.7"
    only_first = {"10.0.0.1"}.__contains__
    assert caller_host(_vias(KAMAILIO, edge, PHONE), "10.0.0.1", only_first) == "10.0.0.2"


def test_a_trusted_proxy_with_no_via_below_is_itself_the_source() -> None:
    assert caller_host(_vias(KAMAILIO), "10.0.0.1", {"10.0.0.1"}.__contains__) == "10.0.0.1"
