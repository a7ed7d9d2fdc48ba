"""The message schema: what is valid gets through typed, everything else is refused
with a stable code before anything acts on it."""

from __future__ import annotations

import json

import pytest

from confero.webrtc import signaling as s


def test_valid_messages_parse_to_their_types() -> None:
    assert isinstance(s.parse('{"v":1,"type":"hello","lang":"nl"}'), s.Hello)
    cmd = s.parse('{"v":1,"type":"command","command":"mute","target":"p1","ref":"r"}')
    assert isinstance(cmd, s.Command) and cmd.target == "p1" and cmd.ref == "r"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "signaling.invalid_json"),
        ("[1, 2]", "signaling.invalid"),
        ('{"type":"hello"}', "signaling.version"),
        ('{"v":2,"type":"hello"}', "signaling.version"),
        ('{"v":1,"type":"teleport"}', "signaling.unknown_type"),
        ('{"v":1}', "signaling.unknown_type"),
        ('{"v":1,"type":"chat","text":""}', "signaling.invalid"),
        ('{"v":1,"type":"media","camera":"yes"}', "signaling.invalid"),
        ('{"v":1,"type":"reset","confirm":1}', "signaling.unknown_type"),
        ('{"v":1,"type":"command","command":"reset","confirm":1}', "signaling.invalid"),
        ('{"v":1,"type":"hello","extra":true}', "signaling.invalid"),
        (json.dumps({"v": 1, "type": "chat", "text": "x" * 70_000}), "signaling.too_large"),
    ],
)
def test_bad_messages_get_stable_codes(text: str, code: str) -> None:
    with pytest.raises(s.BadMessage) as info:
        s.parse(text)
    assert info.value.code == code


def test_ref_is_echoed_even_when_the_message_is_refused() -> None:
    with pytest.raises(s.BadMessage) as info:
        s.parse('{"v":1,"type":"chat","text":"","ref":"abc"}')
    assert info.value.ref == "abc"
    assert s.error(info.value.code, info.value.detail, info.value.ref)["ref"] == "abc"
