"""The one command contract (confero.app.contract): the wire bodies come from the command
classes, every channel builds its commands through it, and today's bodies still work."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from confero.app import contract
from confero.app.conferences import build_command
from confero.domain import commands as c
from confero.domain.controls import CONTROLS
from confero.domain.errors import DomainError
from confero.domain.roles import Role


def test_every_command_a_client_may_send_has_a_body() -> None:
    wire = {name for name, cls in c.COMMANDS.items() if cls.on_the_wire}
    assert wire == contract.NAMES
    assert "join" not in contract.NAMES and "close_window" not in contract.NAMES
    for control in CONTROLS:  # every key press is a command of the contract
        assert control.command.name in contract.NAMES


@pytest.mark.parametrize("name", sorted(contract.NAMES))
def test_a_body_has_the_commands_fields_minus_the_servers(name: str) -> None:
    cls = c.COMMANDS[name]
    fields = {f.name for f in dataclasses.fields(cls)} - c.SERVER_FIELDS - cls.server_filled
    assert set(contract.BODIES[name].model_fields) == fields | {"command"}


def test_the_arguments_are_what_the_commands_take() -> None:
    assert dict(contract.ARGUMENTS) == {
        "target": str,
        "number": str,
        "confirm": bool,
        "reason": str,
    }


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("mute", {"target": "p2"}, c.Mute(by="p1", target="p2")),
        ("mute", {}, c.Mute(by="p1")),
        ("kick", {"target": "p2", "confirm": True}, c.Kick(by="p1", target="p2")),
        ("invite", {"number": "0612"}, c.Invite(by="p1", number="0612")),
        ("reset", {"confirm": True}, c.Reset(by="p1", confirm=True)),
        ("leave", {"reason": "dropped"}, c.Leave(by="p1", reason="dropped")),
        # the server's reason stays the server's
        ("end_for_all", {"reason": "window_closed"}, c.EndForAll(by="p1")),
        # None is "not given": the command's default applies
        ("kick", {"target": None}, c.Kick(by="p1")),
    ],
)
def test_a_body_becomes_its_command(
    name: str, arguments: dict[str, Any], expected: c.Command
) -> None:
    assert contract.command_from(name, arguments, by="p1", by_role=None) == expected


def test_build_command_is_the_contract() -> None:
    command = build_command("lock", by=None, by_role=Role.MODERATOR, target=None, confirm=True)
    assert command == c.Lock(by_role=Role.MODERATOR)


@pytest.mark.parametrize("name", ["self_destruct", "join", "close_window", "", "MUTE_ALL"])
def test_unknown_and_internal_names_are_refused(name: str) -> None:
    with pytest.raises(DomainError) as info:
        contract.command_from(name, {}, by="p1", by_role=None)
    assert info.value.code == "command.unknown"


@pytest.mark.parametrize(
    "arguments", [{"confirm": "yes"}, {"confirm": 1}, {"target": "x" * 65}, {"number": 612}]
)
def test_a_wrong_argument_is_refused(arguments: dict[str, Any]) -> None:
    takes = {"confirm": "reset", "target": "kick", "number": "invite"}
    name = takes[next(iter(arguments))]
    with pytest.raises(DomainError) as info:
        contract.command_from(name, arguments, by="p1", by_role=None)
    assert info.value.code == "command.invalid"
    with pytest.raises(ValidationError):
        contract.check_arguments(arguments)


def test_an_envelope_refuses_an_argument_no_command_takes() -> None:
    with pytest.raises(ValidationError):
        contract.check_arguments({"volume": 3})
    assert contract.check_arguments({"target": "p", "confirm": None}) == {"target": "p"}


def test_the_union_documents_every_body() -> None:
    schema = contract.json_schema()
    assert schema["discriminator"]["propertyName"] == "command"
    assert set(schema["discriminator"]["mapping"]) == contract.NAMES
