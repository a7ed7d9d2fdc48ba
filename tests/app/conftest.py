"""Fixtures of the app tests that run two service stacks as two nodes (issue 16): one
database, one Redis key prefix, each node with its own ``RedisPlacement`` (a short
lease, so a hung node's rooms move within a test) and the shared resume tokens, as
``confero.server.build`` wires a cluster node, with presence and calls in Redis and the
people fanout over its pub/sub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confero.app.placement import NodeInfo
from confero.app.services import Services
from confero.bus.redis_fanout import RedisFanout
from confero.bus.redis_placement import RedisPlacement
from confero.bus.redis_presence import RedisPresence
from confero.bus.redis_tokens import RedisTokens
from confero.config import Settings
from confero.server import build
from tests.bus.redis_support import redis_for_test
from tests.clock import FakeClock
from tests.store.databases import PG_URL, fresh_database

#: The nodes' lease: a node that stops beating loses its rooms this soon. Long enough
#: that a beat delayed on a loaded machine (these tests run at ``nice 10`` beside two
#: other slots in ``make test``) keeps it: 600 ms lost a lease in CI once.
LEASE_MS = 1500
LEASE = LEASE_MS / 1000


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """One database the nodes of a test share: a fresh PostgreSQL database when the
    tests have one, else an SQLite file (the nodes are in this one process)."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'cluster.db'}"
        return
    async with fresh_database("nodes") as url:
        yield url


@pytest.fixture
async def two_nodes(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> AsyncIterator[tuple[Services, Services]]:
    """Node a and node b (node ids ``a`` and ``b``) on the real Redis and one database."""
    async with redis_for_test() as (client, keys):
        stacks: list[Services] = []
        try:
            for name in ("a", "b"):
                node = NodeInfo(name, f"http://node-{name}:8080", "10.0.0.1", 5060, "10.0.0.1")
                placement = RedisPlacement(client, node, keys=keys, ttl_ms=LEASE_MS)
                settings = Settings(data_dir=tmp_path / name, database_url=database_url)
                stacks.append(
                    await build(
                        settings,
                        clock=clock,
                        placement=placement,
                        tokens=RedisTokens(client, keys),
                        presence=RedisPresence(client, keys, name),
                        fanout=RedisFanout(client, keys, name),
                    )
                )
            yield stacks[0], stacks[1]
        finally:
            for stack in stacks:
                await stack.close()
