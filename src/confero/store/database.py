"""Engines for SQLite (WAL, foreign keys on) and PostgreSQL, and migrations in code.

Alembic is configured here rather than in an alembic.ini so that migrations run the same
from a checkout and from an installed package.

SQLite has one writer at a time: WAL lets readers go on beside it, and the busy timeout
makes a second writer wait for the lock instead of failing. It was 5 s, and the attack
run of issue 14 (1,000 sockets, 50 of them flooding the chat, the loop stalling) saw 42
posts fail with ``database is locked``: a writer that waits longer than that is better
served late than refused, so it waits as long as a request waits for a pooled
connection (SQLAlchemy's ``pool_timeout``, 30 s).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"
#: Milliseconds a SQLite writer waits for the write lock before ``database is locked``.
BUSY_TIMEOUT_MS = 30_000


def _unicode_lower(value: object) -> object:
    """SQLite's own ``lower()`` folds ASCII only; PostgreSQL's folds every letter. The
    directory search (``lower(name) LIKE ...``) must find "Łukasz" by "łu" on both."""
    return value.lower() if isinstance(value, str) else value


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    return engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def upgrade(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)
