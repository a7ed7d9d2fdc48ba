"""SQLite's one writer, queued in asyncio rather than in SQLite's busy handler (issue 17).

aiosqlite runs every call of a connection in a thread of its own. Two things about that
cost us, measured with ``bench.web_api``:

- **Writers waited by sleeping.** SQLite lets one connection write at a time; the others
  got ``SQLITE_BUSY`` and slept in its busy handler (1, 2, 5, 10 ... 100 ms steps) and
  tried again, in no order, so under a burst of chat posts one post waited 0.8-1.5 s
  while later ones went first. Here a connection's first write of a transaction first
  takes the database's ``asyncio.Lock`` (first come, first served, woken the moment the
  writer before it commits), and gives it back as soon as the connection is out of its
  transaction (commit, rollback, an error, close). Inside one process the busy handler
  then never waits; it still does for other processes (the ``confero`` CLI). A lock not
  had within ``BUSY_TIMEOUT`` fails like SQLite would, with ``database is locked``.
- **Every call was a thread hop**, about 25 us each with the GIL hand-over, and a read
  makes four (cursor, execute, fetch, close) plus a rollback per unit of work. The calls
  that cannot block or take time run on the loop instead: making and closing a cursor,
  and a commit or rollback with no transaction open (SQLite does nothing then).
  Statements and fetches stay in the thread: a long query there leaves the media tick
  alone.

This leans on aiosqlite's ``Connection._execute`` (every call goes through it, cursors'
included), so the version is pinned below the next minor in pyproject.toml and
tests/store/test_sqlite_connection.py checks the behaviour, not the mechanism.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

#: Seconds a writer waits for the lock, as long as SQLite's own busy timeout.
BUSY_TIMEOUT = 30.0

#: Statements that only read: they need no lock (WAL readers never wait for a writer).
#: (Not ``WITH``: a common table expression may lead into an INSERT.)
_READS = ("select", "pragma", "explain")


def _writes(sql: object) -> bool:
    return not (isinstance(sql, str) and sql.lstrip()[:7].lower().startswith(_READS))


def _is_statement(fn: Callable[..., Any]) -> bool:
    return getattr(fn, "__name__", "") in ("execute", "executemany", "executescript")


class SerializedWrites(aiosqlite.Connection):
    """An aiosqlite connection whose writes queue on ``lock`` (one per database file)."""

    def __init__(
        self,
        connector: Callable[[], sqlite3.Connection],
        lock: asyncio.Lock,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._write_lock = lock
        self._busy_timeout = busy_timeout
        self._writing = False

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is not None and self._costs_nothing(fn):
            return fn(*args, **kwargs)
        if not self._writing and _is_statement(fn) and args and _writes(args[0]):
            await self._take_lock()
        try:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            self._release_unless_writing()

    def _costs_nothing(self, fn: Callable[..., Any]) -> bool:
        """Calls that cannot wait or take time: no thread hop for them."""
        name, owner = getattr(fn, "__name__", ""), getattr(fn, "__self__", None)
        if owner is self._connection:
            if name == "cursor":
                return True
            if name in ("commit", "rollback"):
                return not self._conn.in_transaction
            return False
        return name == "close" and isinstance(owner, sqlite3.Cursor)

    async def _take_lock(self) -> None:
        # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` runs the
        # acquire as a task of its own, and a cancel that meets its completion loses the
        # result, leaving the lock held for good. ``Lock.acquire`` cancelled in place
        # never does.
        try:
            async with asyncio.timeout(self._busy_timeout):
                await self._write_lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._writing = True

    def _release_unless_writing(self) -> None:
        if self._writing and (self._connection is None or not self._connection.in_transaction):
            self._writing = False
            self._write_lock.release()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._release_unless_writing()


def connector(database: str, **kwargs: Any) -> Callable[[], sqlite3.Connection]:
    """How the connection's thread opens the file; usable from the loop too (the cheap
    calls above), which is safe because aiosqlite's calls on one connection never
    overlap: each is awaited before the next is made."""
    return partial(sqlite3.connect, database, check_same_thread=False, **kwargs)
