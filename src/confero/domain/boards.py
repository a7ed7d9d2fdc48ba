"""Whiteboards: a room's named boards and the operations drawn on them (issue 12, F-RC1).

A board is a set of items (a freehand stroke, a line, a rectangle, an ellipse, an arrow, a
text), each with an id its author's page made up. Pages send operations; the server
applies them one at a time per board and sends every page the applied operation with its
sequence number. Because one writer orders everything, two pages drawing at once
converge without a CRDT: every page ends with the server's order, and a page's own
not-yet-confirmed strokes are simply replaced by their confirmed copies (same id).

Undo and redo are a page's own business: a page undoes what *it* did by sending the
inverse operation (remove its stroke, put back what it erased, move back). The server
only checks what anyone may do: add and change items, erase; ``clear`` is for
moderators. Limits keep one message and one board bounded (house rule 6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from confero.domain.errors import DomainError

MAX_BOARDS = 20
MAX_ITEMS = 5_000
MAX_POINTS = 2_000
MAX_TEXT = 500
MAX_BOARD_NAME = 60
MAX_IDS = 500
#: Coordinates are board units; the page's view zooms and pans over them.
MAX_COORD = 100_000.0
WIDTHS = range(1, 41)
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_ITEM_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


class Shape(StrEnum):
    PEN = "pen"
    LINE = "line"
    RECT = "rect"
    ELLIPSE = "ellipse"
    ARROW = "arrow"
    TEXT = "text"


#: How many points each shape has: a stroke any number (2 or more), the others two
#: corners (a text one anchor).
_POINTS = {Shape.LINE: 2, Shape.RECT: 2, Shape.ELLIPSE: 2, Shape.ARROW: 2, Shape.TEXT: 1}


def _invalid(detail: str) -> DomainError:
    return DomainError("board.invalid", detail)


@dataclass(frozen=True)
class Item:
    id: str
    shape: Shape
    points: tuple[tuple[float, float], ...]
    color: str = "#000000"
    width: int = 3
    text: str = ""
    #: The participant or account that drew it (set by the server, never by the page).
    author: str = ""

    def __post_init__(self) -> None:
        if not _ITEM_ID.fullmatch(self.id):
            raise _invalid("an item id is 1 to 40 letters, digits, - or _")
        if not _COLOR.fullmatch(self.color):
            raise _invalid("a colour is #rrggbb")
        if self.width not in WIDTHS:
            raise _invalid(f"a width is {WIDTHS.start} to {WIDTHS.stop - 1}")
        want = _POINTS.get(self.shape)
        count = len(self.points)
        if (want is not None and count != want) or (want is None and not 2 <= count <= MAX_POINTS):
            raise _invalid(f"a {self.shape} has the wrong number of points")
        if any(abs(v) > MAX_COORD for p in self.points for v in p):
            raise _invalid("a point lies off the board")
        if self.shape is Shape.TEXT and not 0 < len(self.text) <= MAX_TEXT:
            raise _invalid(f"a text has 1 to {MAX_TEXT} characters")

    def fields(self) -> dict[str, object]:
        """Its content as plain data (what the wire and the store both keep)."""
        return {
            "shape": self.shape.value,
            "points": [[x, y] for x, y in self.points],
            "color": self.color,
            "width": self.width,
            "text": self.text,
            "author": self.author,
        }

    def moved(self, dx: float, dy: float) -> Item:
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))


# ------------------------------------------------------------------ operations
@dataclass(frozen=True)
class Add:
    item: Item


@dataclass(frozen=True)
class Remove:
    """Erase: items already gone are ignored (two pages erased the same stroke)."""

    ids: tuple[str, ...]


@dataclass(frozen=True)
class Move:
    ids: tuple[str, ...]
    dx: float
    dy: float


@dataclass(frozen=True)
class Clear:
    """Everything goes: moderators only."""


Op = Add | Remove | Move | Clear


@dataclass(frozen=True)
class BoardInfo:
    """A board as a room's list of boards shows it (no items)."""

    id: str
    room_id: str
    name: str
    seq: int
    created_at: datetime


@dataclass
class Board:
    id: str
    room_id: str
    name: str
    #: The number of the last applied operation: pages catch up from it.
    seq: int = 0
    items: dict[str, Item] = field(default_factory=dict)

    def apply(self, op: Op, *, by: str, moderator: bool) -> Op:
        """Apply ``op`` by ``by``; returns what was applied (authors filled in, ids that
        were gone left out), for every page to apply the same."""
        applied = self._applied(op, by=by, moderator=moderator)
        self.seq += 1
        return applied

    def _applied(self, op: Op, *, by: str, moderator: bool) -> Op:
        match op:
            case Add(item=item):
                if item.id not in self.items and len(self.items) >= MAX_ITEMS:
                    raise DomainError("board.full", f"a board holds at most {MAX_ITEMS} items")
                author = self.items[item.id].author if item.id in self.items else by
                placed = replace(item, author=author)
                self.items[item.id] = placed
                return Add(placed)
            case Remove(ids=ids):
                _check_ids(ids)
                gone = tuple(i for i in ids if self.items.pop(i, None) is not None)
                return Remove(gone)
            case Move(ids=ids, dx=dx, dy=dy):
                _check_ids(ids)
                present = tuple(i for i in ids if i in self.items)
                moved = {i: self.items[i].moved(dx, dy) for i in present}
                self.items.update(moved)
                return Move(present, dx, dy)
            case Clear():
                if not moderator:
                    raise DomainError(
                        "conference.moderator_only", "only a moderator clears a board"
                    )
                self.items.clear()
                return op
        raise _invalid("unknown operation")


def _check_ids(ids: tuple[str, ...]) -> None:
    if not 0 < len(ids) <= MAX_IDS or not all(_ITEM_ID.fullmatch(i) for i in ids):
        raise _invalid(f"name 1 to {MAX_IDS} item ids")


def board_name(given: str) -> str:
    name = " ".join(given.split())
    if not 0 < len(name) <= MAX_BOARD_NAME:
        raise DomainError(
            "board.invalid_name", f"a board name has 1 to {MAX_BOARD_NAME} characters"
        )
    return name
