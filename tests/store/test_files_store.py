"""Shared files as rows (store/files.py): stored and read back as they were, newest
first, scoped to their room, deleted one at a time; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confero.app.ports import UnitOfWorkFactory
from confero.domain.files import SharedFile
from tests.store.test_people import person, room, store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def shared(room_id: str, n: int, **kw: object) -> SharedFile:
    fields: dict[str, object] = {
        "id": f"{n:032x}",
        "room_id": room_id,
        "name": f"Notes {n} ünïcode 日本.pdf",
        "media_type": "application/pdf",
        "size": 1000 * n,
        "blob": f"{n:032x}"[::-1],
        "uploader_id": None,
        "uploader_name": "Gus",
        "created_at": T0 + timedelta(minutes=n),
    }
    fields.update(kw)
    return SharedFile(**fields)  # type: ignore[arg-type]


async def test_files_round_trip_newest_first_per_room(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    r1, r2 = room(ann, "1001"), room(ann, "1002")
    await store(uow, ann, r1, r2)
    big = 5 * 1024**3  # over 32 bits: the column is a BigInteger
    files = [shared(r1.id, 1, uploader_id=ann.id, uploader_name="Ann"), shared(r1.id, 2, size=big)]
    async with uow() as u:
        for f in [*files, shared(r2.id, 3)]:
            await u.files.add(f)
        await u.commit()

    async with uow() as u:
        listed = await u.files.list(r1.id)
        assert listed == [files[1], files[0]]
        assert await u.files.get(r1.id, files[0].id) == files[0]
        # another room's id does not open it
        assert await u.files.get(r2.id, files[0].id) is None
        assert await u.files.get(r1.id, "nope") is None


async def test_delete_takes_one_file_of_its_room(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    r1, r2 = room(ann, "1001"), room(ann, "1002")
    await store(uow, ann, r1, r2)
    a, b = shared(r1.id, 1), shared(r1.id, 2)
    async with uow() as u:
        await u.files.add(a)
        await u.files.add(b)
        await u.commit()
    async with uow() as u:
        await u.files.delete(r2.id, a.id)  # the wrong room deletes nothing
        await u.files.delete(r1.id, b.id)
        await u.commit()
    async with uow() as u:
        assert await u.files.list(r1.id) == [a]


async def test_nothing_is_written_without_commit(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    r1 = room(ann, "1001")
    await store(uow, ann, r1)
    async with uow() as u:
        await u.files.add(shared(r1.id, 1))
    async with uow() as u:
        assert await u.files.list(r1.id) == []
