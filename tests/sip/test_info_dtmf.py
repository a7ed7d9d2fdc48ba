"""SIP INFO key bodies (``application/dtmf-relay``, ``application/dtmf``): read, built, and
nothing but ``InfoDtmfError`` for anything a peer may send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from confero.sip.info_dtmf import (
    DTMF_KEYS,
    DtmfRelay,
    InfoDtmfError,
    build_dtmf_relay,
    parse_dtmf_relay,
    parse_info_body,
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Signal=5\r\nDuration=160\r\n", DtmfRelay("5", 160)),
        (b"Signal=5\r\nDuration=160", DtmfRelay("5", 160)),
        ("signal = *\nduration = 100\n", DtmfRelay("*", 100)),
        ("Signal=#\r\n", DtmfRelay("#", 250)),
        ("Signal=10\r\nDuration=80\r\n", DtmfRelay("*", 80)),
        ("Signal=11\r\n", DtmfRelay("#", 250)),
        ("Signal=d\r\n", DtmfRelay("D", 250)),
        ("\r\nSignal=0\r\n\r\n", DtmfRelay("0", 250)),
    ],
)
def test_dtmf_relay_bodies(body: str | bytes, expected: DtmfRelay) -> None:
    assert parse_dtmf_relay(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Duration=160",
        "Signal=E",
        "Signal=",
        "Signal=55",
        "Signal 5",
        "Signal=5\nDuration=x",
        "Signal=5\nDuration=-1",
        "Signal=5\nDuration=99999999",
    ],
)
def test_bad_dtmf_relay_bodies_raise_dtmf_error(body: str) -> None:
    with pytest.raises(InfoDtmfError):
        parse_dtmf_relay(body)


def test_info_bodies_by_content_type_and_building() -> None:
    assert parse_info_body("application/dtmf-relay; charset=utf-8", "Signal=4") == DtmfRelay("4")
    assert parse_info_body("Application/DTMF", b"7\r\n") == DtmfRelay("7")
    with pytest.raises(InfoDtmfError):
        parse_info_body("text/plain", "Signal=4")
    body = build_dtmf_relay("#", 160)
    assert body == "Signal=#\r\nDuration=160\r\n"
    assert parse_dtmf_relay(body) == DtmfRelay("#", 160)


@given(st.text(max_size=60) | st.binary(max_size=60))
def test_parse_dtmf_relay_of_anything_raises_only_dtmf_error(body: str | bytes) -> None:
    try:
        relay = parse_dtmf_relay(body)
    except InfoDtmfError:
        return
    assert relay.signal in DTMF_KEYS
