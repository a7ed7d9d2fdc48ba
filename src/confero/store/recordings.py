"""Finished recordings of a room (issue 12): one row per file in the blob store."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from confero.app.recorder_port import RecordingInfo
from confero.store.models import RecordingRow
from confero.store.repositories import utc


class SqlRecordings:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, r: RecordingInfo) -> None:
        self._s.add(
            RecordingRow(
                id=r.id,
                room_id=r.room_id,
                started_at=utc(r.started_at),
                seconds=r.seconds,
                size=r.size,
                blob=r.blob,
                started_by=r.started_by,
            )
        )
        await self._s.flush()

    async def get(self, room_id: str, recording_id: str) -> RecordingInfo | None:
        row = await self._s.get(RecordingRow, recording_id)
        if row is None or row.room_id != room_id:
            return None
        return _info(row)

    async def list(self, room_id: str) -> Sequence[RecordingInfo]:
        q = (
            select(RecordingRow)
            .where(RecordingRow.room_id == room_id)
            .order_by(RecordingRow.started_at.desc(), RecordingRow.id)
        )
        return [_info(r) for r in (await self._s.execute(q)).scalars()]

    async def delete(self, room_id: str, recording_id: str) -> bool:
        result = await self._s.execute(
            delete(RecordingRow).where(
                RecordingRow.id == recording_id, RecordingRow.room_id == room_id
            )
        )
        return bool(getattr(result, "rowcount", 0))


def _info(row: RecordingRow) -> RecordingInfo:
    return RecordingInfo(
        id=row.id,
        room_id=row.room_id,
        started_at=utc(row.started_at),
        seconds=row.seconds,
        size=row.size,
        blob=row.blob,
        started_by=row.started_by,
    )
