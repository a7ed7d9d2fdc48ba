"""The socket speaks the one contract (issue 10, Deliver 4): a command message carries a
body of confero.app.contract, and every ``error`` names the page's text for its code from
the error registry."""

from __future__ import annotations

import pytest

from confero.domain.errors import ERRORS, GENERIC_TEXT
from confero.webrtc import signaling as s


def test_an_error_carries_the_text_key_of_its_code() -> None:
    out = s.error("room.full", "the room is full", "r1")
    assert out == {
        "v": 1,
        "type": "error",
        "code": "room.full",
        "detail": "the room is full",
        "text_key": ERRORS["room.full"].text_key,
        "ref": "r1",
    }
    assert s.error("signaling.invalid", "no")["text_key"] == GENERIC_TEXT


def test_an_error_keeps_its_context() -> None:
    out = s.error("auth.rate_limited", "slow down", retry_after=3)
    assert out["retry_after"] == 3 and out["text_key"] == "err_rate_limited"


def test_a_command_message_holds_its_arguments() -> None:
    cmd = s.parse('{"v":1,"type":"command","command":"reset","confirm":true,"ref":"r"}')
    assert isinstance(cmd, s.Command)
    assert cmd.command == "reset" and cmd.arguments == {"confirm": True}
    assert cmd.confirm is True and cmd.target is None and cmd.number is None
    leave = s.parse('{"v":1,"type":"command","command":"leave","reason":"left"}')
    assert isinstance(leave, s.Command) and leave.arguments == {"reason": "left"}


@pytest.mark.parametrize(
    "text",
    [
        '{"v":1,"type":"command","command":"mute","volume":3}',  # no command takes it
        '{"v":1,"type":"command","command":"invite","number":612}',
        '{"v":1,"type":"command","command":"reset","confirm":"yes"}',
        '{"v":1,"type":"command"}',
    ],
)
def test_a_bad_command_message_is_refused_before_anything_acts(text: str) -> None:
    with pytest.raises(s.BadMessage) as info:
        s.parse(text)
    assert info.value.code == "signaling.invalid"


def test_an_unknown_name_is_left_to_the_contract() -> None:
    """The gateway answers ``command.unknown`` (after ``conference.not_joined``)."""
    cmd = s.parse('{"v":1,"type":"command","command":"self_destruct"}')
    assert isinstance(cmd, s.Command) and cmd.command == "self_destruct"
