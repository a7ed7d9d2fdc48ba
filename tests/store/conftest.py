"""Store fixtures over both databases: SQLite always, PostgreSQL when
``CONFERO_TEST_DATABASE_URL`` names one (see tests/store/databases.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.app.ports import UnitOfWorkFactory
from confero.store.database import upgrade
from confero.store.uow import make_uow_factory
from tests.store.databases import KINDS, scratch_engine


@pytest.fixture(params=KINDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with scratch_engine(request.param, tmp_path / "store.db") as eng:
        yield eng


@pytest.fixture
async def uow(engine: AsyncEngine) -> UnitOfWorkFactory:
    await upgrade(engine)
    return make_uow_factory(engine)
