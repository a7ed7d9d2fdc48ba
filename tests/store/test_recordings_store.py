"""Recordings as rows (store/recordings.py): stored and read back as they were, newest
first, scoped to their room, deleted one at a time; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confero.app.ports import UnitOfWorkFactory
from confero.app.recorder_port import RecordingInfo
from tests.store.test_people import person, room, store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def recording(room_id: str, n: int, **kw: object) -> RecordingInfo:
    fields: dict[str, object] = {
        "id": f"{n:032x}",
        "room_id": room_id,
        "started_at": T0 + timedelta(minutes=n),
        "seconds": 61.5 * n,
        "size": 4000 * n,
        "blob": f"{n:032x}"[::-1],
        "started_by": "Ann Ünïcode",
    }
    fields.update(kw)
    return RecordingInfo(**fields)  # type: ignore[arg-type]


async def test_recordings_round_trip_newest_first_per_room(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    r1, r2 = room(ann, "1001"), room(ann, "1002")
    await store(uow, ann, r1, r2)
    big = 6 * 1024**3  # over 32 bits: the column is a BigInteger
    mine = [recording(r1.id, 1, started_by=None), recording(r1.id, 2, size=big)]
    async with uow() as u:
        for r in [*mine, recording(r2.id, 3)]:
            await u.recordings.add(r)
        await u.commit()
    async with uow() as u:
        assert list(await u.recordings.list(r1.id)) == mine[::-1]
        assert await u.recordings.get(r1.id, mine[1].id) == mine[1]
        assert await u.recordings.get(r2.id, mine[1].id) is None, "another room's id"
        assert await u.recordings.get(r1.id, "f" * 32) is None


async def test_delete_one_of_its_room_only(uow: UnitOfWorkFactory) -> None:
    ann = person("Ann")
    r1, r2 = room(ann, "1001"), room(ann, "1002")
    await store(uow, ann, r1, r2)
    a, b = recording(r1.id, 1), recording(r2.id, 2)
    async with uow() as u:
        await u.recordings.add(a)
        await u.recordings.add(b)
        await u.commit()
    async with uow() as u:
        assert await u.recordings.delete(r2.id, a.id) is False
        assert await u.recordings.delete(r1.id, a.id) is True
        await u.commit()
    async with uow() as u:
        assert await u.recordings.list(r1.id) == []
        assert list(await u.recordings.list(r2.id)) == [b]
