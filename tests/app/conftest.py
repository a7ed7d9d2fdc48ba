"""Fixtures of the app tests that run two service stacks as two nodes (issue 16)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.store.databases import PG_URL, fresh_database


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """One database the nodes of a test share: a fresh PostgreSQL database when the
    tests have one, else an SQLite file (the nodes are in this one process)."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'cluster.db'}"
        return
    async with fresh_database("nodes") as url:
        yield url
