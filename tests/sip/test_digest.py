"""Digest answers (RFC 7616 §3.9.1 and RFC 2617 §3.5 vectors) and the bounded retry."""

from __future__ import annotations

import pytest

from confero.sip.digest import (
    Challenge,
    Credentials,
    DigestError,
    DigestSession,
    authorization,
    challenges,
)
from confero.sip.message import Headers, Request, Response

MUFASA = Credentials("Mufasa", "Circle of Life")
RFC7616 = dict(
    realm="http-auth@example.org",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    qop=("auth", "auth-int"),
)
CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _param(value: str, name: str) -> str:
    for part in value.removeprefix("Digest ").split(", "):
        key, _, raw = part.partition("=")
        if key == name:
            return raw.strip('"')
    raise KeyError(name)


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    challenge = Challenge(algorithm=algorithm, **RFC7616)  # type: ignore[arg-type]
    value = authorization(challenge, MUFASA, "GET", "/dir/index.html", cnonce=CNONCE)
    assert _param(value, "response") == expected
    assert _param(value, "qop") == "auth" and _param(value, "nc") == "00000001"
    assert _param(value, "algorithm") == algorithm
    assert _param(value, "opaque") == RFC7616["opaque"]
    assert "Circle of Life" not in value and "Circle" not in repr(MUFASA)


def test_rfc2617_vector_and_no_qop() -> None:
    header = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    challenge = Challenge.parse(header)
    assert challenge.algorithm == "MD5" and challenge.qop == ("auth", "auth-int")
    creds = Credentials("Mufasa", "Circle Of Life")
    value = authorization(challenge, creds, "GET", "/dir/index.html", cnonce="0a4f113b")
    assert _param(value, "response") == "6629fae49393a05397450978507c4ef1"
    # RFC 2069 style (no qop): H(HA1:nonce:HA2), no nc/cnonce
    plain = Challenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093")
    value = authorization(plain, creds, "GET", "/dir/index.html")
    assert _param(value, "response") == "670fd8c2df070c60b045671b8b24ff02"
    assert "cnonce" not in value and "nc=" not in value


def test_bad_and_unsupported_challenges() -> None:
    with pytest.raises(DigestError):
        Challenge.parse('Basic realm="x"')
    with pytest.raises(DigestError):
        Challenge.parse('Digest realm="x"')  # no nonce
    odd = Challenge.parse('Digest realm="x", nonce="n", algorithm=SHA-1')
    assert not odd.supported
    with pytest.raises(DigestError):
        authorization(odd, MUFASA, "INVITE", "sip:1@x")


def _invite() -> Request:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfirst;rport")
    headers.add("From", "<sip:confero@10.0.0.1>;tag=abc")
    headers.add("To", "<sip:0612345678@trunk.example>")
    headers.add("Call-ID", "call-1@10.0.0.1")
    headers.add("CSeq", "1 INVITE")
    return Request(headers, b"v=0\r\n", method="INVITE", uri="sip:0612345678@trunk.example")


def _challenge(status: int, *values: str) -> Response:
    headers = Headers()
    name = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
    for value in values:
        headers.add(name, value)
    return Response(headers, b"", status=status, reason="Unauthorized")


def test_session_prefers_sha256_retries_once_and_keeps_the_dialog_identifiers() -> None:
    invite = _invite()
    session = DigestSession(Credentials("confero", "s3cret"))
    first = _challenge(
        407,
        'Digest realm="trunk", nonce="n1", algorithm=MD5, qop="auth"',
        'Digest realm="trunk", nonce="n1", algorithm=SHA-256, qop="auth"',
        'Basic realm="trunk"',
    )
    assert [c.algorithm for c in challenges(first)] == ["MD5", "SHA-256"]
    second = session.retry(invite, first)
    assert second is not None
    assert second.cseq == (2, "INVITE")
    assert second.call_id == invite.call_id and second.from_.tag == "abc"
    assert second.top_via.branch != invite.top_via.branch
    assert second.top_via.branch and second.top_via.branch.startswith("z9hG4bK")
    answer = second.headers.get("Proxy-Authorization") or ""
    assert "algorithm=SHA-256" in answer and second.headers.get("Authorization") is None
    assert _param(answer, "uri") == invite.uri
    # the same realm challenges again: the password was wrong, we stop
    again = _challenge(407, 'Digest realm="trunk", nonce="n2", algorithm=SHA-256, qop="auth"')
    assert session.retry(second, again) is None


def test_session_stale_earns_one_more_try_and_401_after_407_adds_authorization() -> None:
    session = DigestSession(Credentials("confero", "s3cret"))
    invite = _invite()
    second = session.retry(invite, _challenge(407, 'Digest realm="proxy", nonce="a"'))
    assert second is not None
    stale = _challenge(407, 'Digest realm="proxy", nonce="b", stale=true')
    third = session.retry(second, stale)
    assert third is not None and third.cseq == (3, "INVITE")
    assert 'nonce="b"' in (third.headers.get("Proxy-Authorization") or "")
    # then the UAS behind the proxy asks too (another realm): both answers go along
    fourth = session.retry(third, _challenge(401, 'Digest realm="pbx", nonce="c"'))
    assert fourth is not None
    assert 'nonce="b"' in (fourth.headers.get("Proxy-Authorization") or "")
    assert 'realm="pbx"' in (fourth.headers.get("Authorization") or "")
    # stale once more is one too many
    assert session.retry(fourth, stale) is None
    # credentials for another realm only: nothing to answer
    other = DigestSession(Credentials("confero", "s3cret", realm="elsewhere"))
    assert other.retry(invite, _challenge(401, 'Digest realm="pbx", nonce="c"')) is None
