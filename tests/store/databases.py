"""Test databases: SQLite in a file, or PostgreSQL when ``CONFERO_TEST_DATABASE_URL``
names one (CI always does; a skip fails CI).

Each PostgreSQL engine gets a schema of its own, dropped afterwards, so tests never see
each other's rows and the shared ``test`` database stays clean. Store fixtures and the
several-workers notice tests share it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.store.database import create_engine
from tests.conftest import missing_peer

PG_URL = os.environ.get("CONFERO_TEST_DATABASE_URL", "")
KINDS = ["sqlite", "postgresql"]


@asynccontextmanager
async def scratch_engine(kind: str, sqlite_file: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database of ``kind``; disposed (and its schema dropped) after."""
    if kind == "sqlite":
        eng = create_engine(f"sqlite+aiosqlite:///{sqlite_file}")
        try:
            yield eng
        finally:
            await eng.dispose()
        return
    require_postgres()
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


def require_postgres() -> None:
    """Skip without PostgreSQL, except in CI, where every real peer must be there."""
    if not PG_URL:
        missing_peer("PostgreSQL (set CONFERO_TEST_DATABASE_URL)")


@asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """The URL of a PostgreSQL database of the caller's own, dropped afterwards: for
    several processes or service stacks that share one (the cluster tests, issue 16),
    where a schema on the search path would not reach a process started by the test."""
    require_postgres()
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()
