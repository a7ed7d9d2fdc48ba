"""A room's shared files as rows (``room_files``); the bytes live in the blob directory
(store/blobs.py) under the row's ``blob`` key."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from confero.domain.files import SharedFile
from confero.store.models import RoomFileRow
from confero.store.repositories import utc

#: A room shows at most this many files (newest first); more stay stored.
LIST_LIMIT = 500


def _file(row: RoomFileRow) -> SharedFile:
    return SharedFile(
        id=row.id,
        room_id=row.room_id,
        name=row.name,
        media_type=row.media_type,
        size=row.size,
        blob=row.blob,
        uploader_id=row.uploader_id,
        uploader_name=row.uploader_name,
        created_at=utc(row.created_at),
    )


class SqlFiles:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, f: SharedFile) -> None:
        self._s.add(
            RoomFileRow(
                id=f.id,
                room_id=f.room_id,
                name=f.name,
                media_type=f.media_type,
                size=f.size,
                blob=f.blob,
                uploader_id=f.uploader_id,
                uploader_name=f.uploader_name,
                created_at=utc(f.created_at),
            )
        )
        await self._s.flush()

    async def get(self, room_id: str, file_id: str) -> SharedFile | None:
        row = await self._s.get(RoomFileRow, file_id)
        return _file(row) if row is not None and row.room_id == room_id else None

    async def list(self, room_id: str, *, limit: int = LIST_LIMIT) -> Sequence[SharedFile]:
        """Newest first."""
        q = (
            select(RoomFileRow)
            .where(RoomFileRow.room_id == room_id)
            .order_by(RoomFileRow.created_at.desc(), RoomFileRow.id)
            .limit(limit)
        )
        return [_file(r) for r in (await self._s.execute(q)).scalars()]

    async def delete(self, room_id: str, file_id: str) -> None:
        await self._s.execute(
            delete(RoomFileRow).where(RoomFileRow.id == file_id, RoomFileRow.room_id == room_id)
        )
