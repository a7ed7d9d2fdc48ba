"""A room's accumulated content as one thing to wipe (F-EN4, issue 12 Deliver 5).

Reset deletes chat, activity, whiteboards, files and recordings in one transaction: the
rows of all of them go, or none do. Files and recordings keep their bytes in the blob
directory; this returns their keys so the caller deletes the bytes once the rows are
committed (a crash in between leaves unreferenced blobs, which ``unreferenced`` finds
for the start-up sweep, never a row without its bytes).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from confero.store.models import (
    ActivityRow,
    BoardItemRow,
    BoardRow,
    ChatRow,
    RecordingRow,
    RoomFileRow,
)


class SqlRoomContent:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def delete_for_room(self, room_id: str) -> list[str]:
        """Every content row of the room; returns the blob keys they held."""
        keys = [
            *(
                await self._s.scalars(
                    select(RoomFileRow.blob).where(RoomFileRow.room_id == room_id)
                )
            ),
            *(
                await self._s.scalars(
                    select(RecordingRow.blob).where(RecordingRow.room_id == room_id)
                )
            ),
        ]
        boards = select(BoardRow.id).where(BoardRow.room_id == room_id)
        await self._s.execute(delete(BoardItemRow).where(BoardItemRow.board_id.in_(boards)))
        for table in (BoardRow, RoomFileRow, RecordingRow, ChatRow, ActivityRow):
            await self._s.execute(delete(table).where(table.room_id == room_id))
        return keys

    async def unreferenced(self, keys: Iterable[str]) -> set[str]:
        """Of ``keys`` (the blob directory's names), those no row holds."""
        wanted = set(keys)
        if not wanted:
            return set()
        held = set(await self._s.scalars(select(RoomFileRow.blob)))
        held |= set(await self._s.scalars(select(RecordingRow.blob)))
        return wanted - held
