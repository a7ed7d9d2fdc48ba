"""Whiteboards of a room (issue 12, F-RC1): the service every page's board goes through.

A room has named boards (at most ``MAX_BOARDS``). A board being drawn on lives in memory
(``_Live``), one per board, with one ``asyncio.Lock``: an operation is applied to the
domain board, written (its items and the board's ``seq``) in one transaction, and only
then published as ``BoardChanged`` — so every page sees the operations of a board in the
one order the server applied and stored them, and pages converge. A failed write puts
nothing on the wire and drops the live copy (the next operation loads the stored one).

Who may: the gateway (webrtc/gateway.py) lets a socket use boards when its account has a
role in the room or it has joined the meeting; ``moderator`` is the owner, a moderator
member or a participant whose conference role is moderator. Anyone allowed may draw,
erase, move and rename; ``clear`` and deleting a board are for moderators.

Operations on the wire (docs/SIGNALING.md, Boards): ``{"kind":"add","item":{...}}``,
``{"kind":"remove","ids":[...]}``, ``{"kind":"move","ids":[...],"dx":..,"dy":..}``,
``{"kind":"clear"}``; an item is ``{"id","shape","points":[[x,y],...],"color","width",
"text","author"}``.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confero.app.ports import Clock, EventBus, UnitOfWorkFactory
from confero.domain import boards as b
from confero.domain.errors import DomainError
from confero.domain.events import BoardChanged, BoardsListed, Event, RoomContentReset


# ------------------------------------------------------------------ the wire form
def item_to_wire(item: b.Item) -> dict[str, Any]:
    return {"id": item.id, **item.fields()}


def item_from_wire(data: Mapping[str, Any]) -> b.Item:
    """An item as a page sends it (already schema-checked by the socket); the author is
    the server's to set, whatever the page says."""
    try:
        shape = b.Shape(data["shape"])
    except (KeyError, ValueError):
        raise DomainError("board.invalid", "an item's shape is unknown") from None
    return b.Item(
        id=str(data.get("id", "")),
        shape=shape,
        points=tuple((float(x), float(y)) for x, y in data.get("points", ())),
        color=str(data.get("color", "#000000")),
        width=int(data.get("width", 3)),
        text=str(data.get("text", "")),
    )


def op_from_wire(data: Mapping[str, Any]) -> b.Op:
    kind = data.get("kind")
    if kind == "add":
        return b.Add(item_from_wire(data.get("item") or {}))
    if kind == "remove":
        return b.Remove(tuple(str(i) for i in data.get("ids", ())))
    if kind == "move":
        return b.Move(
            tuple(str(i) for i in data.get("ids", ())),
            float(data.get("dx", 0.0)),
            float(data.get("dy", 0.0)),
        )
    if kind == "clear":
        return b.Clear()
    raise DomainError("board.invalid", "unknown operation")


def op_to_wire(op: b.Op) -> dict[str, Any]:
    match op:
        case b.Add(item=item):
            return {"kind": "add", "item": item_to_wire(item)}
        case b.Remove(ids=ids):
            return {"kind": "remove", "ids": list(ids)}
        case b.Move(ids=ids, dx=dx, dy=dy):
            return {"kind": "move", "ids": list(ids), "dx": dx, "dy": dy}
        case b.Clear():
            return {"kind": "clear"}
    raise AssertionError(op)


def info_to_wire(info: b.BoardInfo) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "seq": info.seq}


# ------------------------------------------------------------------ the service
@dataclass(eq=False)
class _Live:
    board: b.Board
    #: item id -> its drawing-order key (the seq at which it was added)
    order: dict[str, int]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class BoardService:
    def __init__(self, uow: UnitOfWorkFactory, bus: EventBus, clock: Clock) -> None:
        self._uow = uow
        self._bus = bus
        self._clock = clock
        self._live: dict[str, _Live] = {}
        #: Loading a board once even when two pages open it at the same moment.
        self._loading: dict[str, asyncio.Lock] = {}
        self._rooms_lock: dict[str, asyncio.Lock] = {}
        self._unsubscribe: Callable[[], None] = bus.subscribe(self._event)

    def close(self) -> None:
        self._unsubscribe()
        self._live.clear()

    def _event(self, event: Event) -> None:
        """A fast bus subscriber: a room's Reset deleted its boards' rows, so their live
        copies go too (an operation already under way finds its board gone)."""
        if isinstance(event, RoomContentReset):
            for board_id, live in list(self._live.items()):
                if live.board.room_id == event.room_id:
                    del self._live[board_id]

    # ------------------------------------------------------------- the list
    async def list(self, room_id: str) -> builtins.list[dict[str, Any]]:
        async with self._uow() as uow:
            return [info_to_wire(i) for i in await uow.boards.list(room_id)]

    async def _publish_list(self, room_id: str, by: str | None) -> builtins.list[dict[str, Any]]:
        boards = await self.list(room_id)
        await self._bus.publish(BoardsListed(room_id=room_id, boards=tuple(boards), by=by))
        return boards

    def _room_lock(self, room_id: str) -> asyncio.Lock:
        return self._rooms_lock.setdefault(room_id, asyncio.Lock())

    async def create(self, room_id: str, name: str, *, by: str | None = None) -> dict[str, Any]:
        clean = b.board_name(name)
        async with self._room_lock(room_id), self._uow() as uow:
            if len(await uow.boards.list(room_id)) >= b.MAX_BOARDS:
                raise DomainError("board.full", f"a room has at most {b.MAX_BOARDS} boards")
            info = b.BoardInfo(uuid.uuid4().hex, room_id, clean, 0, self._clock.now())
            await uow.boards.add(info)
            await uow.commit()
        await self._publish_list(room_id, by)
        return info_to_wire(info)

    async def rename(
        self, room_id: str, board_id: str, name: str, *, by: str | None = None
    ) -> dict[str, Any]:
        clean = b.board_name(name)
        async with self._uow() as uow:
            await self._own(uow, room_id, board_id)
            await uow.boards.rename(board_id, clean)
            await uow.commit()
        live = self._live.get(board_id)
        if live is not None:
            live.board.name = clean
        await self._publish_list(room_id, by)
        return {"id": board_id, "name": clean}

    async def delete(
        self, room_id: str, board_id: str, *, moderator: bool, by: str | None = None
    ) -> None:
        if not moderator:
            raise DomainError("conference.moderator_only", "only a moderator deletes a board")
        live = await self._open(room_id, board_id)
        async with live.lock:
            async with self._uow() as uow:
                await self._own(uow, room_id, board_id)
                await uow.boards.delete(board_id)
                await uow.commit()
            self._live.pop(board_id, None)
        await self._publish_list(room_id, by)

    @staticmethod
    async def _own(uow: Any, room_id: str, board_id: str) -> b.BoardInfo:
        info: b.BoardInfo | None = await uow.boards.get(board_id)
        if info is None or info.room_id != room_id:
            raise DomainError("board.not_found", "no such board")
        return info

    # ------------------------------------------------------------- one board
    async def _open(self, room_id: str, board_id: str) -> _Live:
        live = self._live.get(board_id)
        if live is None:
            async with self._loading.setdefault(board_id, asyncio.Lock()):
                live = self._live.get(board_id)
                if live is None:
                    async with self._uow() as uow:
                        loaded = await uow.boards.load(board_id)
                    if loaded is None:
                        self._loading.pop(board_id, None)
                        raise DomainError("board.not_found", "no such board")
                    live = self._live[board_id] = _Live(*loaded)
        if live.board.room_id != room_id:
            raise DomainError("board.not_found", "no such board")
        return live

    async def state(self, room_id: str, board_id: str) -> dict[str, Any]:
        """What a page draws when it opens a board: the items in drawing order."""
        live = await self._open(room_id, board_id)
        async with live.lock:
            board = live.board
            return {
                "board_id": board.id,
                "name": board.name,
                "seq": board.seq,
                "items": [item_to_wire(i) for i in board.items.values()],
            }

    async def apply(
        self,
        room_id: str,
        board_id: str,
        op: Mapping[str, Any] | b.Op,
        *,
        by: str,
        moderator: bool = False,
    ) -> int:
        """Apply, store, publish; returns the operation's ``seq`` on the board."""
        parsed = op_from_wire(op) if isinstance(op, Mapping) else op
        live = await self._open(room_id, board_id)
        async with live.lock:
            board = live.board
            if self._live.get(board_id) is not live:  # deleted or reset meanwhile
                raise DomainError("board.not_found", "no such board")
            before = (board.seq, dict(board.items), dict(live.order))
            try:
                applied = board.apply(parsed, by=by, moderator=moderator)
                put: list[tuple[b.Item, int]] = []
                removed: tuple[str, ...] = ()
                match applied:
                    case b.Add(item=item):
                        z = live.order.setdefault(item.id, board.seq)
                        put.append((item, z))
                    case b.Move(ids=ids):
                        put.extend((board.items[i], live.order[i]) for i in ids)
                    case b.Remove(ids=ids):
                        removed = ids
                        for i in ids:
                            live.order.pop(i, None)
                    case b.Clear():
                        live.order.clear()
                async with self._uow() as uow:
                    saved = await uow.boards.save(
                        board_id,
                        board.seq,
                        put=put,
                        removed=removed,
                        clear=isinstance(applied, b.Clear),
                    )
                    if not saved:
                        raise DomainError("board.not_found", "no such board")
                    await uow.commit()
            except DomainError as exc:
                board.seq, board.items, live.order = before
                if exc.code == "board.not_found":
                    self._live.pop(board_id, None)
                raise
            except BaseException:
                # Not stored (the database failed): the stored board is the truth.
                board.seq, board.items, live.order = before
                self._live.pop(board_id, None)
                raise
            seq = board.seq
            await self._bus.publish(
                BoardChanged(
                    room_id=room_id, board_id=board_id, seq=seq, op=op_to_wire(applied), by=by
                )
            )
        return seq
