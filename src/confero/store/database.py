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

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from confero.store import sqlite_connection
from confero.store.sqlite_connection import SerializedWrites

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
        engine = create_async_engine(url, **kwargs)
        ping_after_idle(engine)
        return engine
    database = parsed.database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # One write lock per engine, i.e. per database file of this process (sqlite_connection).
    write_lock = asyncio.Lock()
    open_file = sqlite_connection.connector(database, **kwargs.pop("connect_args", {}))

    def serialized() -> SerializedWrites:
        connection = SerializedWrites(open_file, write_lock)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own
        return connection

    engine = create_async_engine(url, async_creator=serialized, **kwargs)

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


#: A pooled connection unused this long is pinged before it is handed out.
IDLE_PING = 5.0


def ping_after_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout (117 us of our
    CPU per unit of work, and the server's, issue 17). A connection in steady use has
    just proven itself; one idle for ``IDLE_PING`` seconds may have been cut (a PostgreSQL
    restart, a proxy's idle timeout), so it alone is pinged, and a dead one is replaced
    before anyone sees it (SQLAlchemy's documented ``DisconnectionError`` retry)."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        now = time.monotonic()
        last = record.info.get("confero_used", now)
        record.info["confero_used"] = now
        if now - last < IDLE_PING:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError("connection lost while idle") from exc
        if not alive:
            raise DisconnectionError("connection lost while idle")


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


# ----------------------------------------------------------- observability (issue 18)
# Kept apart from the engine's settings above: these only look, they change nothing.


async def ping(engine: AsyncEngine) -> bool:
    """The readiness probe's database check: one ``SELECT 1`` on a pooled connection
    (cheap enough to run every second, unlike a count over a table)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True


def observe_pool_wait(engine: AsyncEngine, observe: Callable[[float], None]) -> None:
    """Hand ``observe`` the seconds each checkout waited for a pooled connection.

    SQLAlchemy's pool events fire once a connection is out (``checkout``) but none fires
    when a session starts to wait, so the wait is timed around the pool's own
    ``_do_get`` (every pool class has it), on this engine's pool instance only. A new
    connection's connect time counts as waiting: the caller waited for it all the same.
    ``engine.dispose()`` makes a fresh pool, unobserved: it is called at shutdown."""
    pool = engine.sync_engine.pool
    get = pool._do_get

    def timed() -> Any:
        started = time.perf_counter()
        try:
            return get()
        finally:
            observe(time.perf_counter() - started)

    pool._do_get = timed  # type: ignore[method-assign]
