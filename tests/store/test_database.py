"""Engines (confero/store/database.py): a PostgreSQL connection cut while idle is
replaced before anybody uses it, without a ping on every checkout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from confero.store import database
from tests.store.databases import PG_URL, require_postgres


@pytest.fixture
def postgres() -> str:
    require_postgres()
    return PG_URL


async def _backend_pid(engine: Any) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        return pid


async def test_a_connection_cut_while_idle_is_replaced_unseen(
    postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING", 0.2)
    engine = database.create_engine(postgres, pool_size=1, max_overflow=0)
    admin = database.create_engine(postgres)
    try:
        pid = await _backend_pid(engine)
        async with admin.connect() as conn:  # what a PostgreSQL restart does to it
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.3)
        assert await _backend_pid(engine) != pid  # no error: a new connection
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(postgres: str) -> None:
    engine = database.create_engine(postgres, pool_size=1, max_overflow=0)
    dialect = engine.sync_engine.dialect
    pings: list[object] = []
    ping = dialect.do_ping

    def counting(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    dialect.do_ping = counting  # type: ignore[method-assign]
    try:
        first = await _backend_pid(engine)
        for _ in range(5):
            assert await _backend_pid(engine) == first
        assert pings == []
    finally:
        await engine.dispose()
