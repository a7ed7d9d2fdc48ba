"""The database's part of issue 18 (store/database.py): the readiness ping and the time
sessions wait for a pooled connection, on a real SQLite engine with a pool of one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from confero.store.database import create_engine, observe_pool_wait, ping


async def test_waiting_for_the_only_connection_is_measured(tmp_path: Path) -> None:
    engine = create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", pool_size=1, max_overflow=0
    )
    waits: list[float] = []
    observe_pool_wait(engine, waits.append)
    try:
        assert await ping(engine)
        assert len(waits) == 1  # the ping's checkout, without any wait worth a mention
        async with engine.connect():
            second = asyncio.create_task(ping(engine))
            await asyncio.sleep(0.3)  # the second session waits for the pool's only one
            assert not second.done()
        assert await second
        assert len(waits) == 3  # the ping, the held connection, the waiting ping
        assert waits[1] < 0.25 <= waits[2]
    finally:
        await engine.dispose()
