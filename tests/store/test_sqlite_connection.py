"""SQLite writers queue in asyncio (confero/store/sqlite_connection.py): in order, none
lost, readers never wait, and a lock that is never given back fails like SQLite does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from confero.store.sqlite_connection import SerializedWrites, connector

Opener = Callable[..., Awaitable[SerializedWrites]]


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Opener]:
    lock = asyncio.Lock()
    made: list[SerializedWrites] = []
    database = str(tmp_path / "db.sqlite")

    async def open_one(busy_timeout: float = 30.0) -> SerializedWrites:
        conn = SerializedWrites(connector(database, timeout=30.0), lock, busy_timeout)
        await conn
        await conn.execute("PRAGMA journal_mode=WAL")
        made.append(conn)
        return conn

    first = await open_one()
    await first.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, writer INTEGER UNIQUE)")
    yield open_one
    for conn in made:
        await conn.close()


async def _rows(conn: SerializedWrites) -> list[int]:
    async with conn.execute("SELECT writer FROM posts ORDER BY id") as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def test_writers_wait_their_turn_in_order_and_none_is_lost(opened: Opener) -> None:
    holder = await opened()
    await holder.execute("INSERT INTO posts (writer) VALUES (0)")  # holds the write lock
    writers = [await opened() for _ in range(10)]

    async def write(n: int, conn: SerializedWrites) -> None:
        await conn.execute("INSERT INTO posts (writer) VALUES (?)", (n,))
        await conn.commit()

    tasks = []
    for n, conn in enumerate(writers, start=1):
        tasks.append(asyncio.create_task(write(n, conn)))
        await asyncio.sleep(0.01)  # they arrive in this order
    # Meanwhile a reader is not held up by the open write (WAL).
    reader = await opened()
    assert await asyncio.wait_for(_rows(reader), 1.0) == []
    assert not any(t.done() for t in tasks)
    await holder.commit()
    await asyncio.wait_for(asyncio.gather(*tasks), 10.0)
    assert await _rows(reader) == list(range(11))


async def test_a_failed_or_rolled_back_write_lets_the_next_writer_in(opened: Opener) -> None:
    a, b = await opened(), await opened()
    await a.execute("INSERT INTO posts (writer) VALUES (1)")
    await a.commit()
    with pytest.raises(sqlite3.IntegrityError):
        await a.execute("INSERT INTO posts (writer) VALUES (1)")  # taken: fails
    await a.rollback()
    await a.execute("INSERT INTO posts (writer) VALUES (2)")
    await a.rollback()
    await asyncio.wait_for(b.execute("INSERT INTO posts (writer) VALUES (3)"), 1.0)
    await b.commit()
    assert await _rows(b) == [1, 3]


async def test_a_lock_never_given_back_fails_like_sqlite(opened: Opener) -> None:
    holder, waiter = await opened(), await opened(busy_timeout=0.2)
    await holder.execute("INSERT INTO posts (writer) VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await waiter.execute("INSERT INTO posts (writer) VALUES (2)")
    await holder.commit()
    await waiter.execute("INSERT INTO posts (writer) VALUES (2)")  # nothing was left held
    await waiter.commit()
    assert await _rows(waiter) == [1, 2]


async def test_a_writer_cancelled_while_waiting_holds_nothing(opened: Opener) -> None:
    """A request that goes away while its post waits for the lock (the client hung up)."""
    holder, quitter, next_one = await opened(), await opened(), await opened()
    await holder.execute("INSERT INTO posts (writer) VALUES (1)")
    waiting = asyncio.create_task(quitter.execute("INSERT INTO posts (writer) VALUES (2)"))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await holder.commit()
    await asyncio.wait_for(next_one.execute("INSERT INTO posts (writer) VALUES (3)"), 1.0)
    await next_one.commit()
    assert await _rows(next_one) == [1, 3]
