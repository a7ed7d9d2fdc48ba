"""Whiteboards in the database on SQLite and PostgreSQL (issue 12, F-RC1): boards per
room, items in drawing order, one applied operation as one write, nothing written to a
board that is gone, and a room's Reset takes its boards and their items."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.app.ports import UnitOfWorkFactory
from confero.domain.boards import BoardInfo, Item, Shape
from confero.store.models import BoardItemRow
from tests.store.test_people import person, room, store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def stroke(item_id: str, *points: tuple[float, float], author: str = "a") -> Item:
    return Item(item_id, Shape.PEN, points or ((0.0, 0.0), (1.5, 2.5)), "#112233", 4, "", author)


async def two_rooms(uow: UnitOfWorkFactory) -> tuple[str, str]:
    owner = person("Olga Owner")
    one, two = room(owner, "700001"), room(owner, "700002")
    await store(uow, owner, one, two)
    return one.id, two.id


async def add_board(uow: UnitOfWorkFactory, room_id: str, name: str) -> BoardInfo:
    info = BoardInfo(uuid.uuid4().hex, room_id, name, 0, T0)
    async with uow() as u:
        await u.boards.add(info)
        await u.commit()
    return info


async def test_boards_are_listed_per_room_and_renamed(uow: UnitOfWorkFactory) -> None:
    one, two = await two_rooms(uow)
    a = await add_board(uow, one, "Plan")
    await add_board(uow, two, "Elsewhere")
    async with uow() as u:
        assert [b.name for b in await u.boards.list(one)] == ["Plan"]
        assert await u.boards.rename(a.id, "Plan B")
        assert not await u.boards.rename("0" * 32, "nothing")
        await u.commit()
    async with uow() as u:
        got = await u.boards.get(a.id)
        assert got is not None and got.name == "Plan B" and got.room_id == one
        assert got.created_at == T0


async def test_items_come_back_in_drawing_order_with_their_fields(
    uow: UnitOfWorkFactory,
) -> None:
    one, _ = await two_rooms(uow)
    info = await add_board(uow, one, "Order")
    text = Item("t1", Shape.TEXT, ((5.0, 6.0),), "#000000", 2, "Hello", "b")
    async with uow() as u:
        # ``z`` decides the order, not the order of the rows
        assert await u.boards.save(info.id, 3, put=[(stroke("late"), 3), (text, 2)])
        assert await u.boards.save(info.id, 4, put=[(stroke("early"), 1)])
        await u.commit()
    async with uow() as u:
        loaded = await u.boards.load(info.id)
    assert loaded is not None
    board, order = loaded
    assert board.seq == 4
    assert list(board.items) == ["early", "t1", "late"]
    assert board.items["t1"] == text
    assert board.items["late"] == stroke("late")
    assert order == {"early": 1, "t1": 2, "late": 3}


async def test_move_remove_clear_and_a_gone_board(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    one, _ = await two_rooms(uow)
    info = await add_board(uow, one, "Ops")
    async with uow() as u:
        await u.boards.save(info.id, 2, put=[(stroke("a"), 1), (stroke("b"), 2)])
        await u.commit()
    moved = stroke("a").moved(10, -1)
    async with uow() as u:
        await u.boards.save(info.id, 3, put=[(moved, 1)], removed=["b", "never-was"])
        await u.commit()
    async with uow() as u:
        loaded = await u.boards.load(info.id)
    assert loaded is not None and list(loaded[0].items.values()) == [moved]
    async with uow() as u:
        assert await u.boards.save(info.id, 4, clear=True)
        await u.commit()
    async with uow() as u:
        loaded = await u.boards.load(info.id)
        assert loaded is not None and loaded[0].items == {} and loaded[0].seq == 4
        assert await u.boards.delete(info.id)
        await u.commit()
    async with uow() as u:
        assert await u.boards.load(info.id) is None
        # an operation on a board that is gone writes nothing, no item without its board
        assert not await u.boards.save(info.id, 5, put=[(stroke("orphan"), 5)])
        await u.commit()
    async with engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(BoardItemRow))
    assert count == 0


async def test_reset_takes_the_rooms_boards_and_leaves_others(
    uow: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    one, two = await two_rooms(uow)
    mine = await add_board(uow, one, "Mine")
    theirs = await add_board(uow, two, "Theirs")
    async with uow() as u:
        await u.boards.save(mine.id, 1, put=[(stroke("m"), 1)])
        await u.boards.save(theirs.id, 1, put=[(stroke("t"), 1)])
        await u.commit()
    async with uow() as u:
        await u.content.delete_for_room(one)
        await u.commit()
    async with uow() as u:
        assert await u.boards.list(one) == []
        kept = await u.boards.load(theirs.id)
    assert kept is not None and list(kept[0].items) == ["t"]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(BoardItemRow.board_id))).scalars().all()
    assert rows == [theirs.id]
