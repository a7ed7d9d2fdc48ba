"""Board rules: what an item may be, what each operation does, who may clear."""

from __future__ import annotations

import pytest

from confero.domain.boards import (
    MAX_POINTS,
    Add,
    Board,
    Clear,
    Item,
    Move,
    Remove,
    Shape,
    board_name,
)
from confero.domain.errors import DomainError


def stroke(item_id: str, *points: tuple[float, float]) -> Item:
    return Item(item_id, Shape.PEN, points or ((0, 0), (10, 10)), color="#ff0000", width=4)


def board() -> Board:
    return Board("b1", "r1", "Ideas")


def test_adding_stamps_the_author_and_counts() -> None:
    b = board()
    applied = b.apply(Add(replace_author(stroke("s1"), "forged")), by="ann", moderator=False)
    assert isinstance(applied, Add) and applied.item.author == "ann"
    assert b.items["s1"].author == "ann" and b.seq == 1


def replace_author(item: Item, author: str) -> Item:
    return Item(item.id, item.shape, item.points, item.color, item.width, item.text, author)


def test_an_item_changed_by_another_keeps_its_author() -> None:
    b = board()
    b.apply(Add(stroke("s1")), by="ann", moderator=False)
    b.apply(Add(stroke("s1", (1, 1), (2, 2))), by="ben", moderator=False)
    assert b.items["s1"].author == "ann" and b.items["s1"].points == ((1, 1), (2, 2))


def test_erasing_twice_at_once_converges() -> None:
    b = board()
    b.apply(Add(stroke("s1")), by="ann", moderator=False)
    first = b.apply(Remove(("s1",)), by="ann", moderator=False)
    second = b.apply(Remove(("s1",)), by="ben", moderator=False)
    assert first == Remove(("s1",)) and second == Remove(())
    assert not b.items and b.seq == 3


def test_move_shifts_only_the_items_still_there() -> None:
    b = board()
    b.apply(Add(Item("r", Shape.RECT, ((0, 0), (5, 5)))), by="ann", moderator=False)
    applied = b.apply(Move(("r", "gone"), 10, -1), by="ben", moderator=False)
    assert applied == Move(("r",), 10, -1)
    assert b.items["r"].points == ((10, -1), (15, 4))


def test_only_moderators_clear() -> None:
    b = board()
    b.apply(Add(stroke("s1")), by="ann", moderator=False)
    with pytest.raises(DomainError) as refused:
        b.apply(Clear(), by="ann", moderator=False)
    assert refused.value.code == "conference.moderator_only" and b.items and b.seq == 1
    b.apply(Clear(), by="host", moderator=True)
    assert not b.items


@pytest.mark.parametrize(
    "make",
    [
        lambda: Item("../x", Shape.PEN, ((0, 0), (1, 1))),
        lambda: Item("a", Shape.PEN, ((0, 0),)),
        lambda: Item("a", Shape.PEN, tuple((i, i) for i in range(MAX_POINTS + 1))),
        lambda: Item("a", Shape.RECT, ((0, 0), (1, 1), (2, 2))),
        lambda: Item("a", Shape.LINE, ((0, 0), (1e9, 0))),
        lambda: Item("a", Shape.PEN, ((0, 0), (1, 1)), color="red"),
        lambda: Item("a", Shape.PEN, ((0, 0), (1, 1)), width=0),
        lambda: Item("a", Shape.TEXT, ((0, 0),), text=""),
        lambda: Item("a", Shape.TEXT, ((0, 0),), text="x" * 501),
    ],
)
def test_bad_items_are_refused(make: object) -> None:
    with pytest.raises(DomainError) as refused:
        make()  # type: ignore[operator]
    assert refused.value.code == "board.invalid"


def test_bad_id_lists_are_refused_and_change_nothing() -> None:
    b = board()
    b.apply(Add(stroke("s1")), by="ann", moderator=False)
    for ids in ((), tuple(f"i{n}" for n in range(501)), ("ok", "no/slash")):
        with pytest.raises(DomainError):
            b.apply(Remove(ids), by="ann", moderator=False)
    assert "s1" in b.items and b.seq == 1


def test_a_full_board_refuses_new_items_but_takes_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("confero.domain.boards.MAX_ITEMS", 2)
    b = board()
    b.apply(Add(stroke("a")), by="ann", moderator=False)
    b.apply(Add(stroke("b")), by="ann", moderator=False)
    with pytest.raises(DomainError) as refused:
        b.apply(Add(stroke("c")), by="ann", moderator=False)
    assert refused.value.code == "board.full"
    b.apply(Add(stroke("a", (3, 3), (4, 4))), by="ann", moderator=False)


def test_board_names() -> None:
    assert board_name("  Sprint   plan ") == "Sprint plan"
    for bad in ("", "   ", "x" * 61):
        with pytest.raises(DomainError):
            board_name(bad)
