"""The REST body of a command is the contract's (confero.app.contract) plus who sends it;
today's bodies keep working: fields no command takes are ignored, as they always were."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from confero.app import contract
from confero.web.api.conference import CommandIn


def test_the_arguments_are_gathered_from_the_flat_body() -> None:
    body = CommandIn.model_validate(
        {"command": "kick", "participant_id": "p1", "target": "p2", "confirm": None}
    )
    assert (body.command, body.participant_id, body.arguments) == ("kick", "p1", {"target": "p2"})


def test_fields_no_command_takes_are_ignored() -> None:
    body = CommandIn.model_validate({"command": "lock", "colour": "red", "volume": 3})
    assert body.arguments == {}


def test_a_join_keeps_its_display_name() -> None:
    body = CommandIn.model_validate({"command": "join", "display_name": "Ann"})
    assert body.display_name == "Ann" and body.arguments == {}


@pytest.mark.parametrize("bad", [{"confirm": "yes"}, {"target": "x" * 65}, {"number": 612}])
def test_a_wrong_argument_is_a_validation_error(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CommandIn.model_validate({"command": "reset", **bad})


def test_the_openapi_schema_shows_the_flat_body() -> None:
    schema = CommandIn.model_json_schema()
    assert set(contract.ARGUMENTS) <= set(schema["properties"])
    assert "arguments" not in schema["properties"]
    assert "join" in schema["properties"]["command"]["enum"]
