"""Keypad codes as a caller types them, with the pauses a person makes."""

from __future__ import annotations

import pytest

from confero.phone.keypad import (
    ABANDON_TIMEOUT,
    AMBIGUITY_TIMEOUT,
    NUMBER_PAUSE,
    Invalid,
    KeypadParser,
    Pressed,
    Result,
)


def press(parser: KeypadParser, keys: str, start: float = 0.0, gap: float = 0.2) -> list[Result]:
    out: list[Result] = []
    t = start
    for k in keys:
        out += parser.feed(k, t)
        t += gap
    return out


def names(results: list[Result]) -> list[str]:
    return [
        r.control.command.name if isinstance(r, Pressed) else f"invalid:{r.keys}" for r in results
    ]


def test_unambiguous_codes_fire_at_once() -> None:
    p = KeypadParser()
    assert names(press(p, "*7*9")) == ["volume_down", "volume_up"]
    assert names(press(p, "*30")) == ["end_for_all"]
    assert names(press(p, "*31*21*20*11*10")) == [
        "kick_last",
        "lock",
        "unlock",
        "mute_all",
        "unmute_all",
    ]


def test_lone_hash_is_the_menu() -> None:
    p = KeypadParser()
    assert names(press(p, "#")) == ["menu"]


def test_star_3_waits_for_a_possible_second_digit() -> None:
    p = KeypadParser()
    assert press(p, "*3") == []
    assert p.next_deadline() is not None
    assert p.poll(0.2 + AMBIGUITY_TIMEOUT - 0.01) == []
    assert names(p.poll(0.2 + AMBIGUITY_TIMEOUT)) == ["list_participants"]
    assert p.next_deadline() is None


def test_star_1_and_star_2_wait_because_star_10_and_star_21_exist() -> None:
    p = KeypadParser()
    assert press(p, "*1") == []
    assert names(p.poll(10.0)) == ["toggle_mute"]
    # typed straight on, the next star shows *2 is complete
    assert names(press(p, "*2*7", start=20.0)) == ["toggle_announcements", "volume_down"]


def test_star_3_followed_by_another_code_fires_first() -> None:
    p = KeypadParser()
    press(p, "*3")
    # the next '*' comes after the pause: *3 fires, then *1 is parsed normally
    got = p.feed("*", 5.0) + p.feed("7", 5.1)
    assert names(got) == ["list_participants", "volume_down"]


def test_star_8_collects_a_number_until_hash() -> None:
    p = KeypadParser()
    got = press(p, "*80612345678#")
    assert len(got) == 1 and isinstance(got[0], Pressed)
    assert got[0].control.command.name == "invite" and got[0].argument == "0612345678"


def test_star_8_without_a_number_is_invalid_closed_or_abandoned() -> None:
    p = KeypadParser()
    assert names(press(p, "*8#")) == ["invalid:*8"]
    press(p, "*8", start=10.0)
    assert p.poll(10.2 + NUMBER_PAUSE) == [], "no digit yet: the caller may still be looking"
    assert names(p.poll(10.2 + ABANDON_TIMEOUT)) == ["invalid:*8"]


def test_a_pause_ends_the_number_of_star_8_as_hash_would() -> None:
    p = KeypadParser()
    assert press(p, "*80612345678") == []  # the last digit at 2.2 s
    deadline = p.next_deadline()
    assert deadline == pytest.approx(2.2 + NUMBER_PAUSE)
    assert p.poll(deadline - 0.01) == []
    [got] = p.poll(deadline)
    assert isinstance(got, Pressed)
    assert (got.control.command.name, got.argument) == ("invite", "0612345678")
    assert p.next_deadline() is None and p.pending == ""


def test_slow_digits_of_a_number_each_restart_the_pause() -> None:
    p = KeypadParser()
    got = press(p, "*8061", gap=NUMBER_PAUSE - 0.5)  # the last digit at 10 s
    got += p.feed("#", 11.0)
    assert [(r.control.command.name, r.argument) for r in got if isinstance(r, Pressed)] == [
        ("invite", "061")
    ]


def test_unknown_codes_are_reported_and_reset() -> None:
    p = KeypadParser()
    assert names(press(p, "*5")) == ["invalid:*5"]
    assert names(press(p, "7")) == ["invalid:7"]
    assert names(press(p, "*9")) == ["volume_up"]


def test_abandoned_star_is_dropped_after_a_while() -> None:
    p = KeypadParser()
    p.feed("*", 0.0)
    assert p.poll(ABANDON_TIMEOUT - 0.1) == []
    assert names(p.poll(ABANDON_TIMEOUT)) == ["invalid:*"]


def test_long_numbers_are_bounded() -> None:
    p = KeypadParser()
    got = press(p, "*8" + "1" * 30 + "#")
    assert got and isinstance(got[-1], Invalid | Pressed)
    assert all(len(r.argument) <= 20 for r in got if isinstance(r, Pressed))
