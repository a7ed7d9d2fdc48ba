"""Reset's delete: every content row of one room in one transaction, other rooms
untouched, and the blob keys handed back for the bytes (F-EN4, issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from confero.app.ports import UnitOfWorkFactory
from confero.store.models import (
    ActivityRow,
    BoardItemRow,
    BoardRow,
    ChatRow,
    RecordingRow,
    RoomFileRow,
)
from tests.store.test_people import person, room, store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TABLES = (BoardRow, BoardItemRow, RoomFileRow, RecordingRow, ChatRow, ActivityRow)


async def fill(uow: UnitOfWorkFactory, room_id: str, tag: str) -> None:
    async with uow() as u:
        s = u.content._s  # type: ignore[attr-defined]  # rows as any writer leaves them
        await s.execute(
            insert(BoardRow).values(
                id=f"b{tag}", room_id=room_id, name="Ideas", seq=2, created_at=T0
            )
        )
        for item in ("i1", "i2"):
            await s.execute(insert(BoardItemRow).values(board_id=f"b{tag}", item_id=item, data={}))
        await s.execute(
            insert(RoomFileRow).values(
                id=f"f{tag}",
                room_id=room_id,
                name="a.pdf",
                media_type="application/pdf",
                size=3,
                blob=f"{tag}" * 32,
                uploader_id=None,
                uploader_name="Ann",
                created_at=T0,
            )
        )
        await s.execute(
            insert(RecordingRow).values(
                id=f"r{tag}",
                room_id=room_id,
                started_at=T0,
                seconds=1.0,
                size=9,
                blob=f"{tag}e" * 16,
                started_by="Ann",
            )
        )
        await s.execute(
            insert(ChatRow).values(room_id=room_id, author_name="Ann", text="hi", created_at=T0)
        )
        await s.execute(
            insert(ActivityRow).values(room_id=room_id, kind="joined", detail={}, created_at=T0)
        )
        await u.commit()


async def counts(uow: UnitOfWorkFactory, room_id: str) -> dict[str, int]:
    async with uow() as u:
        s = u.content._s  # type: ignore[attr-defined]
        out = {}
        for table in TABLES:
            if table is BoardItemRow:
                boards = select(BoardRow.id).where(BoardRow.room_id == room_id)
                where = BoardItemRow.board_id.in_(boards)
            else:
                where = table.room_id == room_id
            out[table.__tablename__] = await s.scalar(
                select(func.count()).select_from(table).where(where)
            )
        return out


async def test_reset_deletes_one_rooms_content_and_names_its_blobs(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    a, b = room(ann, "111111"), room(ann, "222222")
    await store(uow, ann, a, b)
    await fill(uow, a.id, "a")
    await fill(uow, b.id, "b")
    async with uow() as u:
        keys = await u.content.delete_for_room(a.id)
        await u.commit()
    assert sorted(keys) == sorted(["a" * 32, "ae" * 16])
    assert set((await counts(uow, a.id)).values()) == {0}
    assert set((await counts(uow, b.id)).values()) == {1, 2}, "the other room keeps all"
    async with uow() as u:
        assert await u.content.unreferenced(["a" * 32, "b" * 32, "be" * 16]) == {"a" * 32}


async def test_an_uncommitted_reset_deletes_nothing(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    a = room(ann, "111111")
    await store(uow, ann, a)
    await fill(uow, a.id, "a")
    async with uow() as u:
        await u.content.delete_for_room(a.id)  # no commit: the unit of work rolls back
    assert set((await counts(uow, a.id)).values()) == {1, 2}
