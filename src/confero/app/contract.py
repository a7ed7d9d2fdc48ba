"""One command contract for every channel (issue 10, Deliver 4; house rule 3).

The wire body of a command (``{"command": "kick", "target": "p7"}``) is generated from the
command classes of ``confero.domain.commands``: one pydantic model per command with the
command's own fields (minus what the server fills in), joined into one discriminated union
on ``command``. The REST endpoint, the WebSocket and the keypad all turn a body into a
command through ``command_from``; before, each kept a request schema of its own.

The envelopes around a body (the socket's ``v``/``type``/``ref``, the REST call's
``participant_id``) validate the flat arguments with ``check_arguments``: every argument
any command takes, with the type and the length its command gives it. A body may carry
arguments its command does not take; they are ignored, as they always were (a keypad
press sends ``confirm`` with every command).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
    create_model,
)

from confero.domain import commands as c
from confero.domain.errors import DomainError
from confero.domain.roles import Role

#: The longest command name a client may send.
MAX_NAME = 40


def arguments_of(cls: type[c.Command]) -> dict[str, type]:
    """A command's wire arguments and their type (``str`` or ``bool``)."""
    hints = typing.get_type_hints(cls)
    found: dict[str, type] = {}
    for f in dataclasses.fields(cls):
        if f.name in c.SERVER_FIELDS or f.name in cls.server_filled:
            continue
        kinds = [a for a in typing.get_args(hints[f.name]) if a is not type(None)]
        kind = kinds[0] if len(kinds) == 1 else hints[f.name]
        assert kind in (str, bool), f"{cls.__name__}.{f.name}: a wire argument is str or bool"
        found[f.name] = kind
    return found


def _field(name: str, kind: type) -> tuple[Any, Any]:
    """Every argument may be left out (None): the command's own default applies."""
    if kind is bool:
        # Strict: a reset deletes content, so only a JSON true confirms it.
        return (StrictBool | None, None)
    assert name in c.ARGUMENT_MAX_LENGTH, f"{name}: give it a length in ARGUMENT_MAX_LENGTH"
    return (str | None, Field(default=None, max_length=c.ARGUMENT_MAX_LENGTH[name]))


def _body_model(cls: type[c.Command]) -> type[BaseModel]:
    fields = {name: _field(name, kind) for name, kind in arguments_of(cls).items()}
    doc = cls.__doc__ or ""
    if not doc or doc.startswith(cls.__name__ + "("):  # dataclass's generated signature
        doc = f"The command ``{cls.name}``."
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{cls.__name__}Body",
        __config__=ConfigDict(extra="ignore", frozen=True),
        __doc__=" ".join(doc.split()),
        command=(Literal[cls.name], ...),
        **fields,
    )
    return model


#: Command name -> the model of its wire body, for every command a client may send.
BODIES: Mapping[str, type[BaseModel]] = MappingProxyType(
    {cls.name: _body_model(cls) for cls in c.COMMANDS.values() if cls.on_the_wire}
)
NAMES = frozenset(BODIES)
#: The one discriminated union of all command bodies (its JSON schema documents them).
CommandBody: Any = Annotated[Union[tuple(BODIES.values())], Field(discriminator="command")]  # noqa: UP007
BODY: TypeAdapter[Any] = TypeAdapter(CommandBody)


def _all_arguments() -> dict[str, type]:
    found: dict[str, type] = {}
    for name in NAMES:
        for arg, kind in arguments_of(c.COMMANDS[name]).items():
            assert found.setdefault(arg, kind) is kind, f"{arg} has two types"
    return found


#: Every argument some command takes -> its type: what an envelope lets through.
ARGUMENTS: Mapping[str, type] = MappingProxyType(_all_arguments())
_ARGUMENTS_MODEL: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "CommandArguments",
    __config__=ConfigDict(extra="forbid", frozen=True),
    **{name: _field(name, kind) for name, kind in ARGUMENTS.items()},
)


def check_arguments(values: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a flat wire body, typed and bounded; unknown names are refused.

    Raises pydantic's ``ValidationError`` (a ``ValueError``): inside an envelope's
    validator it becomes that envelope's own validation error."""
    checked: dict[str, Any] = _ARGUMENTS_MODEL.model_validate(dict(values)).model_dump(
        exclude_none=True
    )
    return checked


def command_from(
    name: str, arguments: Mapping[str, Any], *, by: str | None, by_role: Role | None
) -> c.Command:
    """Validate a wire body into its command; ``by``/``by_role`` come from the server."""
    if name not in NAMES:
        raise DomainError("command.unknown", f"unknown command {name!r}")
    given = {k: v for k, v in arguments.items() if v is not None}
    try:
        body = BODY.validate_python({**given, "command": name})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        raise DomainError("command.invalid", f"{where}: {first['msg']}") from exc
    values = body.model_dump(exclude_none=True)
    del values["command"]
    return c.COMMANDS[name](by=by, by_role=by_role, **values)


def json_schema() -> dict[str, Any]:
    """The union's JSON schema: what REST documents as the body of a command."""
    schema: dict[str, Any] = BODY.json_schema()
    return schema
