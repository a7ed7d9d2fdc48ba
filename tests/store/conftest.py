"""Store fixtures over both databases: SQLite always, PostgreSQL when
``CONFERO_TEST_DATABASE_URL`` names one (CI always does; a skip fails CI).

Each PostgreSQL test gets a schema of its own, dropped afterwards, so tests never see
each other's rows and the shared ``test`` database stays clean.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.app.ports import UnitOfWorkFactory
from confero.store.database import create_engine, upgrade
from confero.store.uow import make_uow_factory

PG_URL = os.environ.get("CONFERO_TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/store.db")
        try:
            yield eng
        finally:
            await eng.dispose()
        return
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: set CONFERO_TEST_DATABASE_URL")
        pytest.skip("set CONFERO_TEST_DATABASE_URL to test PostgreSQL")
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield eng
    finally:
        await eng.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    await upgrade(engine)
    return make_uow_factory(engine)
