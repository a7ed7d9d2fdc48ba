"""The SIP parser and serializer as the rest of the stack relies on them."""

from __future__ import annotations

import pytest

from confero.sip.framing import StreamFramer
from confero.sip.message import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    Via,
    make_response,
    parse,
)


def msg(text: str, body: bytes = b"") -> bytes:
    return text.replace("\n", "\r\n").encode() + body


BASE = (
    "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-1;rport\n"
    "From: <sip:alice@example.com>;tag=a1\nTo: <sip:bob@example.com>\n"
    "Call-ID: c1\nCSeq: 1 INVITE\nMax-Forwards: 70\n"
)


def invite(extra: str = "", body: bytes = b"", length: int | None = None) -> bytes:
    cl = "" if length == -1 else f"Content-Length: {len(body) if length is None else length}\n"
    return msg(f"INVITE sip:bob@example.com SIP/2.0\n{BASE}{extra}{cl}\n", body)


def test_compact_forms_are_expanded() -> None:
    m = parse(
        msg(
            "INVITE sip:bob@example.com SIP/2.0\n"
            "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1\n"
            "f: <sip:alice@example.com>;tag=a1\nt: <sip:bob@example.com>\ni: c1\n"
            "CSeq: 1 INVITE\nm: <sip:alice@192.0.2.1>\nc: application/sdp\nl: 3\n\n",
            b"abc",
        )
    )
    names = [n for n, _ in m.headers]
    assert names == ["Via", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Type",
                     "Content-Length"]  # fmt: skip
    assert m.call_id == "c1" and m.content_type == "application/sdp" and m.body == b"abc"
    assert b"\r\nCall-ID: c1\r\n" in m.to_bytes()


def test_header_names_are_case_insensitive() -> None:
    m = parse(invite("cAlL-iNfO: x\nX-CUSTOM: y\n"))
    assert m.headers.get("call-info") == "x" and m.headers.get("CALL-INFO") == "x"
    assert m.headers.get("x-custom") == "y" and "Call-Id" in m.headers


def test_folded_lines_are_joined() -> None:
    m = parse(invite("Subject: one\n two\n\tthree\n"))
    assert m.headers.get("Subject") == "one two three"


def test_vias_in_one_header_and_in_several_lines_keep_their_order() -> None:
    m = parse(
        msg(
            "OPTIONS sip:bob@example.com SIP/2.0\n"
            "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK-a, SIP/2.0/TCP b.example.com:5070\n"
            "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK-c\n"
            "From: <sip:alice@example.com>;tag=a1\nTo: <sip:bob@example.com>\n"
            "Call-ID: c1\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"
        )
    )
    assert [(v.host, v.port, v.transport) for v in m.vias] == [
        ("a.example.com", None, "UDP"),
        ("b.example.com", 5070, "TCP"),
        ("c.example.com", None, "UDP"),
    ]
    assert m.top_via.branch == "z9hG4bK-a"


def test_comma_in_quoted_display_name_does_not_split_contact() -> None:
    m = parse(invite('Contact: "Doe, John" <sip:john@192.0.2.1>;q=0.5, <sip:x@y>\n'))
    contacts = m.headers.get_all("Contact")
    assert contacts == ['"Doe, John" <sip:john@192.0.2.1>;q=0.5', "<sip:x@y>"]
    first = NameAddr.parse(contacts[0])
    assert first.display == "Doe, John" and first.params == {"q": "0.5"}


def test_content_length_over_udp() -> None:
    assert parse(invite(body=b"0123456789", length=4)).body == b"0123"  # extra dropped
    with pytest.raises(SipParseError) as caught:
        parse(invite(body=b"0123", length=10))
    assert caught.value.status == 400 and "shorter" in caught.value.reason
    assert caught.value.request is not None
    assert parse(invite(body=b"xyz", length=-1)).body == b"xyz"  # UDP: the datagram


def test_content_length_over_tcp() -> None:
    framer = StreamFramer()
    out = framer.feed(invite(body=b"xyz", length=-1))
    assert len(out) == 1 and isinstance(out[0], SipParseError)
    assert "Content-Length" in out[0].reason
    framer = StreamFramer()
    data = invite(body=b"abc")
    assert framer.feed(data[:20]) == []
    (m,) = framer.feed(data[20:] + b"\r\n\r\n")  # keep-alive after the message
    assert isinstance(m, Request) and m.body == b"abc"


def test_round_trip() -> None:
    m = parse(invite('Contact: "A" <sip:a@192.0.2.1>\nSubject: x\n', b"body"))
    again = parse(m.to_bytes())
    assert isinstance(again, Request)
    assert list(again.headers) == list(m.headers) and again.body == b"body"
    assert again.method == "INVITE" and again.uri == "sip:bob@example.com"


def _request(extra: str = "", method: str = "INVITE") -> Request:
    m = parse(
        msg(
            f"{method} sip:bob@example.com SIP/2.0\n"
            "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1\nVia: SIP/2.0/UDP 192.0.2.9\n"
            "From: <sip:alice@example.com>;tag=a1\n"
            f"Call-ID: c1\nCSeq: 4 {method}\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>\n"
            f"{extra}Content-Length: 0\n\n"
        )
    )
    assert isinstance(m, Request)
    return m


def test_make_response_copies_the_transaction_headers() -> None:
    req = _request("To: <sip:bob@example.com>\n")
    r = make_response(req, 180, to_tag="b1")
    assert isinstance(r, Response) and (r.status, r.reason) == (180, "Ringing")
    assert r.headers.get_all("Via") == req.headers.get_all("Via")
    assert r.headers.get("From") == req.headers.get("From")
    assert r.call_id == "c1" and r.cseq == (4, "INVITE")
    assert r.to.tag == "b1"
    assert make_response(req, 100, to_tag="b1").to.tag is None  # not on 100
    tagged = _request("To: <sip:bob@example.com>;tag=old\n")
    assert make_response(tagged, 200, to_tag="b1").to.tag == "old"


def test_record_route_only_for_invite_1xx_2xx() -> None:
    req = _request("To: <sip:bob@example.com>\n")
    assert make_response(req, 200).headers.get_all("Record-Route") == ["<sip:p1;lr>",
                                                                      "<sip:p2;lr>"]  # fmt: skip
    assert make_response(req, 180).headers.get_all("Record-Route")
    assert not make_response(req, 100).headers.get_all("Record-Route")
    assert not make_response(req, 486).headers.get_all("Record-Route")
    bye = _request("To: <sip:bob@example.com>;tag=b\n", "BYE")
    assert not make_response(bye, 200).headers.get_all("Record-Route")


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@example.com",
        "sip:alice@example.com:5070;transport=tcp;lr",
        "sips:alice:secret@[2001:db8::1]:5061;maddr=192.0.2.1?subject=hi&priority=urgent",
        "sip:192.0.2.1",
        "sip:user;par=u%40x@example.com",
    ],
)
def test_sip_uri_round_trip(text: str) -> None:
    assert str(SipUri.parse(text)) == text


def test_sip_uri_parts() -> None:
    u = SipUri.parse("sip:alice@example.com:5070;transport=tcp;lr?subject=hi")
    assert (u.scheme, u.user, u.host, u.port) == ("sip", "alice", "example.com", 5070)
    assert u.params == {"transport": "tcp", "lr": None} and u.headers == "subject=hi"
    for bad in ("tel:+123", "sip:a b@c", "sip:host:99999", "sip:a@"):
        with pytest.raises(SipParseError):
            SipUri.parse(bad)


def test_name_addr_with_and_without_brackets() -> None:
    a = NameAddr.parse('"Alice A." <sip:alice@example.com;transport=tcp>;tag=x')
    assert (a.display, a.uri, a.tag) == ("Alice A.", "sip:alice@example.com;transport=tcp", "x")
    assert str(a) == '"Alice A." <sip:alice@example.com;transport=tcp>;tag=x'
    b = NameAddr.parse("sip:alice@example.com;tag=y")
    assert (b.display, b.uri, b.params) == (None, "sip:alice@example.com", {"tag": "y"})
    c = NameAddr.parse("Alice <sip:alice@example.com>")
    assert c.display == "Alice" and c.with_tag("t").tag == "t"
    for bad in ('"open <sip:a@b>', "<sip:a@b", "sip:a@b?x=1", "< sip:a@b>", "Bell, A <sip:a@b>"):
        with pytest.raises(SipParseError):
            NameAddr.parse(bad)


def test_via_parts() -> None:
    v = Via.parse("SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-1;rport;received=10.0.0.1")
    assert v.sent_by == ("192.0.2.1", 5062) and v.branch == "z9hG4bK-1"
    assert v.params["rport"] is None and v.params["received"] == "10.0.0.1"
    v.params["rport"] = "4000"
    assert str(v) == "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK-1;rport=4000;received=10.0.0.1"
    assert Via.parse("SIP/2.0/TCP host").sent_by == ("host", 5060)
    for bad in ("SIP/3.0/UDP host", "SIP/2.0/UDP", "SIP/2.0/UDP host;;x"):
        with pytest.raises(SipParseError):
            Via.parse(bad)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("Max-Forwards: ²\n", "Max-Forwards"),
        ("Expires: " + "9" * 5000 + "\n", "Expires"),
        ("Call-ID: c2\n", "more than one"),
    ],
)
def test_odd_numbers_and_duplicates_are_400(extra: str, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        parse(invite(extra))
    assert caught.value.status == 400 and reason in caught.value.reason
