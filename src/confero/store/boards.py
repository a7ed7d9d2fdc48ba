"""Whiteboards in the database (issue 12, F-RC1): a row per board, a row per item.

An item's row holds the item as the wire knows it (domain/boards.py ``Item``) plus ``z``,
the board sequence number at which it was put on the board: items come back in drawing
order, so a board looks the same after a restart as before. The app writes an applied
operation as one batch (``save``): the items it added or moved, the ids it removed, and
the board's new ``seq``, in the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confero.domain.boards import Board, BoardInfo, Item, Shape
from confero.store.models import BoardItemRow, BoardRow
from confero.store.repositories import utc


def item_data(item: Item, z: int) -> dict[str, Any]:
    return {**item.fields(), "z": z}


def item_from_data(item_id: str, data: dict[str, Any]) -> Item:
    return Item(
        id=item_id,
        shape=Shape(data["shape"]),
        points=tuple((float(x), float(y)) for x, y in data["points"]),
        color=data.get("color", "#000000"),
        width=int(data.get("width", 3)),
        text=data.get("text", ""),
        author=data.get("author", ""),
    )


def _stored(row: BoardRow) -> BoardInfo:
    return BoardInfo(row.id, row.room_id, row.name, row.seq, utc(row.created_at))


class SqlBoards:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, board: BoardInfo) -> None:
        self._s.add(
            BoardRow(
                id=board.id,
                room_id=board.room_id,
                name=board.name,
                seq=board.seq,
                created_at=utc(board.created_at),
            )
        )
        await self._s.flush()

    async def list(self, room_id: str) -> Sequence[BoardInfo]:
        rows = await self._s.execute(
            select(BoardRow)
            .where(BoardRow.room_id == room_id)
            .order_by(BoardRow.created_at, BoardRow.id)
        )
        return [_stored(r) for r in rows.scalars()]

    async def get(self, board_id: str) -> BoardInfo | None:
        row = await self._s.get(BoardRow, board_id)
        return _stored(row) if row is not None else None

    async def load(self, board_id: str) -> tuple[Board, dict[str, int]] | None:
        """The board with its items in drawing order, and each item's ``z``."""
        row = await self._s.get(BoardRow, board_id)
        if row is None:
            return None
        found = await self._s.execute(
            select(BoardItemRow.item_id, BoardItemRow.data).where(BoardItemRow.board_id == board_id)
        )
        pairs = sorted(found.all(), key=lambda r: (int(r.data.get("z", 0)), r.item_id))
        board = Board(id=row.id, room_id=row.room_id, name=row.name, seq=row.seq)
        order: dict[str, int] = {}
        for item_id, data in pairs:
            board.items[item_id] = item_from_data(item_id, data)
            order[item_id] = int(data.get("z", 0))
        return board, order

    async def rename(self, board_id: str, name: str) -> bool:
        result = await self._s.execute(
            update(BoardRow).where(BoardRow.id == board_id).values(name=name)
        )
        return _rowcount(result) == 1

    async def delete(self, board_id: str) -> bool:
        await self._s.execute(delete(BoardItemRow).where(BoardItemRow.board_id == board_id))
        result = await self._s.execute(delete(BoardRow).where(BoardRow.id == board_id))
        return _rowcount(result) == 1

    async def save(
        self,
        board_id: str,
        seq: int,
        *,
        put: Iterable[tuple[Item, int]] = (),
        removed: Iterable[str] = (),
        clear: bool = False,
    ) -> bool:
        """Write one applied operation: the board's new ``seq``, items added or changed
        (with their ``z``), ids removed, or all items gone. False when the board is gone
        (deleted, or its room reset): then nothing is written."""
        result = await self._s.execute(
            update(BoardRow).where(BoardRow.id == board_id).values(seq=seq)
        )
        if _rowcount(result) != 1:
            return False
        if clear:
            await self._s.execute(delete(BoardItemRow).where(BoardItemRow.board_id == board_id))
        gone = list(removed)
        if gone:
            await self._s.execute(
                delete(BoardItemRow).where(
                    BoardItemRow.board_id == board_id, BoardItemRow.item_id.in_(gone)
                )
            )
        for item, z in put:
            data = item_data(item, z)
            row = await self._s.get(BoardItemRow, (board_id, item.id))
            if row is None:
                self._s.add(BoardItemRow(board_id=board_id, item_id=item.id, data=data))
            else:
                row.data = data
        await self._s.flush()
        return True


def _rowcount(result: object) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
