"""The browser's WebSocket messages, version 1 (docs/SIGNALING.md), as a schema.

Every message is validated before anything acts on it: an unknown type, a wrong
version, a missing or oversized field, or a message over ``MAX_MESSAGE`` bytes is
answered with an ``error`` and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    field_validator,
    model_validator,
)

from confero.app import contract

# The envelope is shared with the people socket; these names stay importable from here.
from confero.app.envelope import VERSION as VERSION
from confero.app.envelope import BadMessage as BadMessage
from confero.app.envelope import Envelope
from confero.app.envelope import error as error
from confero.app.envelope import message as message
from confero.domain import boards as b
from confero.domain.content import MAX_CHAT_TEXT

MAX_MESSAGE = 64 * 1024
MAX_SDP = 32 * 1024
Ref = Annotated[str | None, Field(default=None, max_length=40)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    ref: Ref = None


class Hello(_Message):
    type: Literal["hello"]
    lang: str | None = Field(default=None, max_length=16)


class Join(_Message):
    type: Literal["join"]
    name: str | None = Field(default=None, max_length=200)
    resume: str | None = Field(default=None, max_length=64)


class Offer(_Message):
    type: Literal["offer"]
    sdp: str = Field(max_length=MAX_SDP)


class SubscribeAnswer(_Message):
    type: Literal["subscribe_answer"]
    stream_id: str = Field(max_length=80)
    sdp: str = Field(max_length=MAX_SDP)


class Media(_Message):
    type: Literal["media"]
    camera: StrictBool = False
    screen: StrictBool = False


class Command(_Message):
    """A command of the one contract (``confero.app.contract``): every field besides
    ``v``/``type``/``ref``/``command`` is an argument, checked against the arguments the
    commands take (an unknown one is refused); ``arguments`` holds those given."""

    type: Literal["command"]
    command: str = Field(max_length=contract.MAX_NAME)
    arguments: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        envelope = {k: v for k, v in data.items() if k in _COMMAND_ENVELOPE}
        return {**envelope, "arguments": {k: v for k, v in data.items() if k not in envelope}}

    @field_validator("arguments")
    @classmethod
    def _check(cls, value: dict[str, Any]) -> dict[str, Any]:
        return contract.check_arguments(value)

    @property
    def target(self) -> str | None:
        return self.arguments.get("target")

    @property
    def number(self) -> str | None:
        return self.arguments.get("number")

    @property
    def confirm(self) -> bool | None:
        return self.arguments.get("confirm")


_COMMAND_ENVELOPE = frozenset({"v", "type", "ref", "command"})


class Chat(_Message):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=MAX_CHAT_TEXT)
    name: str | None = Field(default=None, max_length=200)


class ChatHistory(_Message):
    type: Literal["chat_history"]
    #: A row id the database holds (32 bits on PostgreSQL): 2**63 was a 500 (issue 14).
    before: int | None = Field(default=None, ge=1, le=2**31 - 1)


# ----------------------------------------------------------------- boards (issue 12)
BoardId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9a-f]{1,32}$")]
ItemId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Coord = Annotated[float, Field(allow_inf_nan=False, ge=-b.MAX_COORD, le=b.MAX_COORD)]
Shift = Annotated[float, Field(allow_inf_nan=False, ge=-2 * b.MAX_COORD, le=2 * b.MAX_COORD)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoardItem(_Part):
    id: ItemId
    shape: Literal["pen", "line", "rect", "ellipse", "arrow", "text"]
    points: list[tuple[Coord, Coord]] = Field(min_length=1, max_length=b.MAX_POINTS)
    color: str = Field(default="#000000", pattern=r"^#[0-9a-fA-F]{6}$")
    width: int = Field(default=3, ge=b.WIDTHS.start, le=b.WIDTHS.stop - 1)
    text: str = Field(default="", max_length=b.MAX_TEXT)
    #: Ignored: the server sets who drew it (pages may send back what they received).
    author: str = Field(default="", max_length=80)


class AddOp(_Part):
    kind: Literal["add"]
    item: BoardItem


class RemoveOp(_Part):
    kind: Literal["remove"]
    ids: list[ItemId] = Field(min_length=1, max_length=b.MAX_IDS)


class MoveOp(_Part):
    kind: Literal["move"]
    ids: list[ItemId] = Field(min_length=1, max_length=b.MAX_IDS)
    dx: Shift
    dy: Shift


class ClearOp(_Part):
    kind: Literal["clear"]


BoardOperation = Annotated[AddOp | RemoveOp | MoveOp | ClearOp, Field(discriminator="kind")]
BoardName = Annotated[str, Field(min_length=1, max_length=200)]


class BoardList(_Message):
    type: Literal["board_list"]


class BoardCreate(_Message):
    type: Literal["board_create"]
    name: BoardName


class BoardRename(_Message):
    type: Literal["board_rename"]
    board_id: BoardId
    name: BoardName


class BoardDelete(_Message):
    type: Literal["board_delete"]
    board_id: BoardId


class BoardOpen(_Message):
    type: Literal["board_open"]
    board_id: BoardId


class BoardOp(_Message):
    type: Literal["board_op"]
    board_id: BoardId
    op: BoardOperation


BOARD_TYPES = (BoardList, BoardCreate, BoardRename, BoardDelete, BoardOpen, BoardOp)


class Leave(_Message):
    type: Literal["leave"]


class Ping(_Message):
    type: Literal["ping"]


ClientMessage = Annotated[
    Hello
    | Join
    | Offer
    | SubscribeAnswer
    | Media
    | Command
    | Chat
    | ChatHistory
    | Leave
    | Ping
    | BoardList
    | BoardCreate
    | BoardRename
    | BoardDelete
    | BoardOpen
    | BoardOp,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_envelope: Envelope[ClientMessage] = Envelope(
    _adapter,
    (
        Hello,
        Join,
        Offer,
        SubscribeAnswer,
        Media,
        Command,
        Chat,
        ChatHistory,
        Leave,
        Ping,
        *BOARD_TYPES,
    ),
    MAX_MESSAGE,
)
TYPES = _envelope.types
parse = _envelope.parse
