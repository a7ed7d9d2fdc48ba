"""The keypad table of seed 001 (F-PH2, F-PH3), kept as data in one place (house rule 3)."""

from __future__ import annotations

import pytest

from confero.domain import commands as c
from confero.domain.controls import BY_KEYS, CONTROLS, KEYPAD, controls_for, is_prefix
from confero.domain.roles import Role

#: Seed 001's keys, plus ``*22`` (admit the longest-waiting knocker; issue 10, parity).
SEED_001 = {
    "#": "menu",
    "*1": "toggle_mute",
    "*2": "toggle_announcements",
    "*3": "list_participants",
    "*7": "volume_down",
    "*9": "volume_up",
    "*8": "invite",
    "*30": "end_for_all",
    "*31": "kick_last",
    "*21": "lock",
    "*20": "unlock",
    "*22": "admit_next",
    "*11": "mute_all",
    "*10": "unmute_all",
}
MODERATOR_KEYS = {"*8", "*30", "*31", "*21", "*20", "*22", "*11", "*10"}


@pytest.mark.parametrize(("keys", "command"), sorted(SEED_001.items()))
def test_each_key_of_seed_001_triggers_its_command(keys: str, command: str) -> None:
    assert BY_KEYS[keys].command.name == command


def test_table_has_exactly_the_keys_of_seed_001() -> None:
    assert {ctl.keys for ctl in KEYPAD} == set(SEED_001)
    assert len(KEYPAD) == len(SEED_001)  # no key twice
    # the other rows are the page's and the API's only (recording, issue 12)
    assert {ctl.command.name for ctl in CONTROLS if ctl.keys is None} == {
        "record_start",
        "record_stop",
    }


def test_moderator_only_controls_are_exactly_the_moderator_keys() -> None:
    assert {ctl.keys for ctl in KEYPAD if ctl.required_role is Role.MODERATOR} == MODERATOR_KEYS


def test_participant_menu_excludes_moderator_controls() -> None:
    keys = [ctl.keys for ctl in controls_for(Role.PARTICIPANT)]
    assert keys == ["#", "*1", "*2", "*3", "*7", "*9"]
    assert not set(keys) & MODERATOR_KEYS


def test_moderator_menu_lists_every_control_in_table_order() -> None:
    assert controls_for(Role.MODERATOR) == KEYPAD


def test_control_role_comes_from_its_command() -> None:
    for ctl in CONTROLS:
        assert ctl.required_role is ctl.command.required_role


def test_every_control_command_is_a_known_command() -> None:
    for ctl in CONTROLS:
        assert c.COMMANDS[ctl.command.name] is ctl.command


def test_only_invite_takes_a_number() -> None:
    assert [ctl.keys for ctl in KEYPAD if ctl.takes_number] == ["*8"]


def test_every_control_has_a_label() -> None:
    assert all(ctl.label.strip() for ctl in CONTROLS)


@pytest.mark.parametrize(
    ("keys", "prefix"),
    [
        ("*3", True),  # could still become *30 or *31
        ("*2", True),  # *20, *21
        ("*1", True),  # *10, *11
        ("*", True),
        ("*30", False),
        ("*31", False),
        ("*7", False),
        ("*9", False),
        ("*8", False),
        ("#", False),
        ("*4", False),
        ("*32", False),
    ],
)
def test_is_prefix(keys: str, prefix: bool) -> None:
    assert is_prefix(keys) is prefix
